package io.tianshu.gateway.db;

import java.sql.Array;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/** PostgreSQL text[] and float8[] in and out of JDBC; a null list is SQL NULL. */
public final class SqlArrays {

    private SqlArrays() {
    }

    public static void setText(PreparedStatement ps, int index, List<String> values) throws SQLException {
        if (values == null) {
            ps.setNull(index, java.sql.Types.ARRAY);
        } else {
            ps.setArray(index, ps.getConnection().createArrayOf("text", values.toArray()));
        }
    }

    public static void setInteger(PreparedStatement ps, int index, int[] values) throws SQLException {
        Integer[] boxed = Arrays.stream(values).boxed().toArray(Integer[]::new);
        ps.setArray(index, ps.getConnection().createArrayOf("int4", boxed));
    }

    public static void setDouble(PreparedStatement ps, int index, double[] values) throws SQLException {
        Double[] boxed = Arrays.stream(values).boxed().toArray(Double[]::new);
        ps.setArray(index, ps.getConnection().createArrayOf("float8", boxed));
    }

    /**
     * The array without NULL elements: rows written before the admin API refused them hold some,
     * and List.of would fail on every read of the row. A NULL model id matched no model anyway.
     */
    public static List<String> text(ResultSet rs, String column) throws SQLException {
        Array array = rs.getArray(column);
        return array == null ? null : Arrays.stream((String[]) array.getArray()).filter(Objects::nonNull).toList();
    }

    public static Integer integer(ResultSet rs, String column) throws SQLException {
        int value = rs.getInt(column);
        return rs.wasNull() ? null : value;
    }

    public static Long bigint(ResultSet rs, String column) throws SQLException {
        long value = rs.getLong(column);
        return rs.wasNull() ? null : value;
    }
}
