"""Chameleon provisioning, configuration and teardown (notebooks 00, 01, 02, 99).

Data flows: `context` (site, project, credentials from the environment) -> `names` (suffixed
resource names) -> `requests` (the exact lease/server/security-group/Terraform requests, built
once and shared by plan and apply) -> `chameleon` / `terraform` (apply them) -> `inventory`
(Ansible hosts from what exists) -> `ansible` (run playbooks) -> `teardown`.
Nothing here imports python-chi at module level, so plan mode never needs it.
"""
