"""What every Tianshu Python gRPC service needs around its servicer, written once:
errors mapped to gRPC statuses, per-call telemetry, JSON logs and the serve-until-signal loop."""
