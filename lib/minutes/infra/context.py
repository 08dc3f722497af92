"""Which site, which project, which credentials: the python-chi context, from the environment.

Credentials never come from params or papermill parameters (both end up in archived reports).
Three kinds are recognised, in this order:

* an application credential for the site: `<SITE>_OS_APPLICATION_CREDENTIAL_ID` / `..._SECRET`
  (e.g. KVM_TACC_OS_APPLICATION_CREDENTIAL_ID), because each credential works at one site only;
* the un-prefixed OS_* variables of an OpenRC file or an application credential
  (OS_AUTH_TYPE=v3applicationcredential + OS_APPLICATION_CREDENTIAL_ID/SECRET, or v3password);
* the Chameleon JupyterHub's variables (OS_AUTH_TYPE=v3oidcaccesstoken + OS_ACCESS_TOKEN).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

#: Keystone endpoints of the sites (python-chi's use_site fetches these from the network and
#: only prints an error when it cannot, so they are set explicitly).
SITES: dict[str, str] = {
    "KVM@TACC": "https://kvm.tacc.chameleoncloud.org:5000/v3",
    "CHI@TACC": "https://chi.tacc.chameleoncloud.org:5000/v3",
    "CHI@UC": "https://chi.uc.chameleoncloud.org:5000/v3",
    "CHI@Edge": "https://chi.edge.chameleoncloud.org:5000/v3",
}
#: Auth types and the variables each needs (besides OS_AUTH_TYPE).
REQUIRED: dict[str, tuple[str, ...]] = {
    "v3applicationcredential": ("OS_APPLICATION_CREDENTIAL_ID", "OS_APPLICATION_CREDENTIAL_SECRET"),
    "v3oidcaccesstoken": ("OS_ACCESS_TOKEN", "OS_PROJECT_NAME"),
    "v3password": ("OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME"),
    "v3token": ("OS_TOKEN", "OS_PROJECT_NAME"),
}


class MissingCredentials(RuntimeError):
    """No usable credential for a site; the message names the missing variables."""


def site_prefix(site: str) -> str:
    """KVM@TACC -> KVM_TACC_ (the prefix of that site's own credential variables)."""
    if site not in SITES:
        raise ValueError(f"unknown Chameleon site {site!r}; known sites: {', '.join(SITES)}")
    return re.sub(r"[^A-Z0-9]+", "_", site.upper()) + "_"


@dataclass(frozen=True)
class Credentials:
    """Auth options for python-chi; `source` names the variables, never their values."""

    site: str
    auth_type: str
    auth_url: str
    options: Mapping[str, str] = field(repr=False)
    source: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        """What a report may show: site, endpoint, auth type and the variable names used."""
        return {"site": self.site, "auth_type": self.auth_type, "auth_url": self.auth_url,
                "from_variables": ", ".join(self.source),
                "project": self.options.get("project_name", "")}


def _option(var: str) -> str:
    """OS_APPLICATION_CREDENTIAL_ID -> application_credential_id (python-chi / keystoneauth)."""
    return var[3:].lower()


def credentials_for(site: str, environ: Mapping[str, str] | None = None) -> Credentials:
    """Credentials for `site` from the environment, or MissingCredentials naming what is missing."""
    env = os.environ if environ is None else environ
    prefix = site_prefix(site)
    auth_url = SITES[site]
    site_id, site_secret = (f"{prefix}OS_APPLICATION_CREDENTIAL_ID", f"{prefix}OS_APPLICATION_CREDENTIAL_SECRET")
    if env.get(site_id) or env.get(site_secret):
        missing = [v for v in (site_id, site_secret) if not env.get(v)]
        if missing:
            raise MissingCredentials(f"{site}: {', '.join(missing)} is not set (the site's application "
                                     f"credential needs both {site_id} and {site_secret})")
        return Credentials(site, "v3applicationcredential", auth_url,
                           {"application_credential_id": env[site_id],
                            "application_credential_secret": env[site_secret]},
                           (site_id, site_secret))
    auth_type = env.get("OS_AUTH_TYPE") or env.get("OS_AUTH_METHOD") or ""
    if not auth_type:
        raise MissingCredentials(
            f"{site}: no credentials in the environment. Set {site_id} and {site_secret} (an "
            f"application credential created at {site}, 'Unrestricted' ticked), or OS_AUTH_TYPE "
            "with the OS_* variables of an OpenRC file (on the Chameleon JupyterHub they are set).")
    if auth_type not in REQUIRED:
        raise MissingCredentials(f"{site}: OS_AUTH_TYPE={auth_type!r} is not supported; use one of "
                                 f"{', '.join(REQUIRED)}")
    missing = [v for v in REQUIRED[auth_type] if not env.get(v)]
    if missing:
        raise MissingCredentials(f"{site}: OS_AUTH_TYPE={auth_type} needs {', '.join(missing)}, "
                                 "which is not set in the environment")
    options = {_option(v): env[v] for v in REQUIRED[auth_type]}
    for var in ("OS_PROJECT_DOMAIN_NAME", "OS_USER_DOMAIN_NAME", "OS_IDENTITY_PROVIDER", "OS_PROTOCOL",
                "OS_INTERFACE"):
        if env.get(var):
            options[_option(var)] = env[var]
    if auth_type in ("v3password", "v3oidcaccesstoken"):
        options.setdefault("project_domain_name", "chameleon")
    if auth_type == "v3password":
        options.setdefault("user_domain_name", "Default")
    issued_for = env.get("OS_AUTH_URL", "")
    if auth_type == "v3applicationcredential" and issued_for and issued_for.rstrip("/") != auth_url.rstrip("/"):
        raise MissingCredentials(
            f"{site}: OS_AUTH_URL is {issued_for}, so the application credential in OS_* was issued "
            f"for another site; set {site_id} and {site_secret} for {site}")
    return Credentials(site, auth_type, auth_url, options, ("OS_AUTH_TYPE", *REQUIRED[auth_type]))


def use_site(site: str, params: Any, environ: Mapping[str, str] | None = None) -> Credentials:
    """Point python-chi at `site` with credentials from the environment; returns them.

    The project is set only for token/password auth (an application credential is scoped
    already). The key pair name comes from params.
    """
    creds = credentials_for(site, environ)
    import chi.context as chi_context

    chi_context.set("auth_type", creds.auth_type)
    for key, value in creds.options.items():
        chi_context.set(key, value)
    if params.infra.project and creds.auth_type != "v3applicationcredential":
        chi_context.set("project_name", params.infra.project)
    chi_context.set("auth_url", creds.auth_url)
    chi_context.set("region_name", site)
    from minutes.infra.names import key_name

    chi_context.set("keypair_name", key_name(params))
    return creds
