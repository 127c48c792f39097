package io.tianshu.cyclefixture.right;

import io.tianshu.cyclefixture.left.Left;

/** The other half of the deliberate cycle. */
public class Right {
    public Left left;
}
