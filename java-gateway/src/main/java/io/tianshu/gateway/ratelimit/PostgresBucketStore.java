package io.tianshu.gateway.ratelimit;

import io.tianshu.gateway.db.Blocking;
import io.tianshu.gateway.db.SqlArrays;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.jdbc.core.JdbcTemplate;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

/**
 * Rate-limit buckets in PostgreSQL, shared by every gateway instance on the database.
 *
 * <p>Admissions go out one statement at a time per instance, each carrying every admission
 * that arrived while the one before was under way (rate_admit_many, which takes them in
 * order, each from all of its buckets or from none, under row locks). A lone call waits for
 * nothing; under load one statement and one set of row locks serve a whole burst instead of
 * each call queueing for the locks the call before holds. Settlements run on the blocking pool.
 */
class PostgresBucketStore implements BucketStore {

    // Rows of a statement stay well under what a plan or a round trip notices; more wait for the next.
    static final int MAX_CALLS_PER_STATEMENT = 256;

    private record Pending(List<Take> takes, Duration window, Sinks.One<List<State>> result,
            AtomicBoolean cancelled) {
    }

    private final JdbcTemplate jdbc;
    private final Deque<Pending> pending = new ConcurrentLinkedDeque<>();
    private final AtomicBoolean sending = new AtomicBoolean();
    private final AtomicLong statements = new AtomicLong();

    PostgresBucketStore(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    @Override
    public Mono<List<State>> admit(List<Take> takes, Duration window) {
        return Mono.defer(() -> {
            // In bucket order, as the memory store answers.
            List<Take> ordered = takes.stream().sorted(Comparator.comparing(Take::bucket)).toList();
            Pending call = new Pending(ordered, window, Sinks.one(), new AtomicBoolean());
            pending.add(call);
            if (sending.compareAndSet(false, true)) {
                Schedulers.boundedElastic().schedule(this::send);
            }
            return call.result().asMono().doOnCancel(() -> call.cancelled().set(true));
        });
    }

    @Override
    public Mono<Void> settle(List<Take> deltas, Duration window) {
        return Blocking.call(() -> jdbc.query("SELECT rate_settle(?, ?, ?, ?)", ps -> bind(ps, deltas, window),
                rs -> null)).then();
    }

    /** Joins the caller's transaction through the JdbcTemplate, so it commits or rolls back with it. */
    @Override
    public void charge(List<Take> takes, Duration window) {
        jdbc.query("SELECT rate_charge(?, ?, ?, ?)", ps -> bind(ps, takes, window), rs -> null);
    }

    /** Admission statements sent so far. */
    long statements() {
        return statements.get();
    }

    /** Admissions waiting for a statement. */
    int waiting() {
        return pending.size();
    }

    /** Sends what is pending, a statement at a time, until nothing is; one sender at a time. */
    private void send() {
        try {
            sendPending();
        } catch (Throwable unexpected) {
            // Never leave the flag set with nobody sending: every later admission would hang.
            sending.set(false);
            if (!pending.isEmpty() && sending.compareAndSet(false, true)) {
                Schedulers.boundedElastic().schedule(this::send);
            }
            throw unexpected;
        }
    }

    private void sendPending() {
        while (true) {
            List<Pending> calls = next();
            if (calls.isEmpty()) {
                sending.set(false);
                // An admission added after the poll and before the flag cleared found a sender
                // still running and left it to send: take it up unless another sender just did.
                if (pending.isEmpty() || !sending.compareAndSet(false, true)) {
                    return;
                }
                continue;
            }
            List<List<State>> states;
            try {
                states = admitAll(calls);
            } catch (RuntimeException e) {  // the database refused or is gone: 503s, as before batching
                calls.forEach(call -> call.result().tryEmitError(e));
                continue;
            }
            // Each caller's request carries on on this thread up to its next hand-off (the
            // Generate call); the next statement waits for those, not for the calls themselves.
            for (int i = 0; i < calls.size(); i++) {
                calls.get(i).result().tryEmitValue(states.get(i));
            }
        }
    }

    /**
     * The next statement's admissions: the oldest pending, and those after it with its window.
     * A call whose caller has gone (client disconnected while it waited) is dropped, so that it
     * takes no quota it would never settle.
     */
    private List<Pending> next() {
        List<Pending> calls = new ArrayList<>();
        Pending call;
        while (calls.size() < MAX_CALLS_PER_STATEMENT && (call = pending.poll()) != null) {
            if (call.cancelled().get()) {
                continue;
            }
            if (!calls.isEmpty() && !call.window().equals(calls.get(0).window())) {
                pending.addFirst(call);  // limits reloaded in between: its own statement, next
                break;
            }
            calls.add(call);
        }
        return calls;
    }

    private List<List<State>> admitAll(List<Pending> calls) {
        List<Integer> callOfRow = new ArrayList<>();
        List<Take> rows = new ArrayList<>();
        List<List<State>> states = new ArrayList<>(calls.size());
        for (int i = 0; i < calls.size(); i++) {
            for (Take take : calls.get(i).takes()) {
                callOfRow.add(i);
                rows.add(take);
            }
            states.add(new ArrayList<>(calls.get(i).takes().size()));
        }
        statements.incrementAndGet();
        jdbc.query("SELECT * FROM rate_admit_many(?, ?, ?, ?, ?)", ps -> {
            SqlArrays.setInteger(ps, 1, callOfRow.stream().mapToInt(Integer::intValue).toArray());
            bind(ps, 2, rows, calls.get(0).window());
        }, rs -> {
            states.get(rs.getInt("call")).add(new State(rs.getString("bucket"), rs.getDouble("capacity"),
                    rs.getDouble("level"), rs.getBoolean("granted")));
        });
        return states;
    }

    private static void bind(PreparedStatement ps, List<Take> takes, Duration window) throws SQLException {
        bind(ps, 1, takes, window);
    }

    private static void bind(PreparedStatement ps, int first, List<Take> takes, Duration window) throws SQLException {
        SqlArrays.setText(ps, first, takes.stream().map(Take::bucket).toList());
        SqlArrays.setDouble(ps, first + 1, takes.stream().mapToDouble(Take::capacity).toArray());
        SqlArrays.setDouble(ps, first + 2, takes.stream().mapToDouble(Take::amount).toArray());
        ps.setDouble(first + 3, window.toNanos() / 1e9);
    }
}
