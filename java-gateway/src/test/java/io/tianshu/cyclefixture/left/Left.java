package io.tianshu.cyclefixture.left;

import io.tianshu.cyclefixture.right.Right;

/** Half of a deliberate package cycle, for PackageCyclesTest to prove its rule sees one. */
public class Left {
    public Right right;
}
