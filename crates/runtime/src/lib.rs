//! OCI runtime support: spec generation, users, cgroups, runtime selection.
