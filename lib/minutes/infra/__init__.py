"""Chameleon provisioning, configuration and teardown (notebooks 00, 01, 02, 99).

Data flows: `context` (site, credentials from the environment) -> `names` (suffixed resource
names) -> `cloud_requests` (the exact lease/server/security-group/Terraform requests, built once and
shared by plan and apply) -> `kvm` / `gpu` (plan, or apply through `cloud` + `provision`, or
`terraform`) -> `state` (what exists) -> `inventory` + `configure` (Ansible via `ansible`) ->
`teardown`. `tables` flattens all of it for the notebooks. Nothing here imports python-chi at
module level, so plan mode never needs it.
"""
