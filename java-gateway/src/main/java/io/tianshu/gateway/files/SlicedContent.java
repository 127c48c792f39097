package io.tianshu.gateway.files;

import java.io.InputStream;

/** A stored file's content as an InputStream that fetches one slice per database round trip. */
final class SlicedContent extends InputStream {

    private final FileStore store;
    private final String id;
    private final long size;
    private long fetched;
    private byte[] slice = new byte[0];
    private int position;

    SlicedContent(FileStore store, String id, long size) {
        this.store = store;
        this.id = id;
        this.size = size;
    }

    @Override
    public int read() {
        byte[] one = new byte[1];
        return read(one, 0, 1) == -1 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] into, int offset, int length) {
        if (position == slice.length) {
            if (fetched >= size) {
                return -1;
            }
            slice = store.slice(id, fetched, FileStore.SLICE_BYTES);
            fetched += slice.length;
            position = 0;
            if (slice.length == 0) {
                return -1;
            }
        }
        int n = Math.min(length, slice.length - position);
        System.arraycopy(slice, position, into, offset, n);
        position += n;
        return n;
    }
}
