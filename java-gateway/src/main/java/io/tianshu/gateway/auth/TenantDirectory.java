package io.tianshu.gateway.auth;

/**
 * What authentication needs from the tenant table. Declared here and implemented by
 * {@code tenants/TenantStore}, so that the tenant table may speak of callers' limits while
 * auth never reaches into the table's package.
 */
public interface TenantDirectory {

    String DEFAULT_TENANT = "default";

    /** The tenant's stored limits; {@link Caller.Limits#NONE} for a tenant not (yet) in the table. */
    Caller.Limits limitsOf(String tenant);

    /** Creates the tenant the bootstrap admin key and an auth-less gateway's calls belong to, unless it exists. */
    void ensureDefaultTenant();
}
