"""Credentials come from the environment only; errors name the missing variable."""
from __future__ import annotations

import pytest

from minutes.infra.context import MissingCredentials, credentials_for, site_prefix, use_site
from tests.infra.conftest import SECRET

APP = {"KVM_TACC_OS_APPLICATION_CREDENTIAL_ID": "app-id-1", "KVM_TACC_OS_APPLICATION_CREDENTIAL_SECRET": SECRET}


def test_site_credential() -> None:
    creds = credentials_for("KVM@TACC", APP)
    assert creds.auth_type == "v3applicationcredential"
    assert creds.auth_url == "https://kvm.tacc.chameleoncloud.org:5000/v3"
    assert creds.options == {"application_credential_id": "app-id-1", "application_credential_secret": SECRET}
    assert SECRET not in repr(creds) and SECRET not in str(creds.describe())


def test_half_a_site_credential_names_the_missing_variable() -> None:
    with pytest.raises(MissingCredentials, match="KVM_TACC_OS_APPLICATION_CREDENTIAL_SECRET is not set"):
        credentials_for("KVM@TACC", {"KVM_TACC_OS_APPLICATION_CREDENTIAL_ID": "x"})


def test_nothing_set_says_what_to_set() -> None:
    with pytest.raises(MissingCredentials, match="Set CHI_UC_OS_APPLICATION_CREDENTIAL_ID and "
                                                 "CHI_UC_OS_APPLICATION_CREDENTIAL_SECRET"):
        credentials_for("CHI@UC", {})


def test_hub_token_needs_project() -> None:
    env = {"OS_AUTH_TYPE": "v3oidcaccesstoken", "OS_ACCESS_TOKEN": "tok-123456"}
    with pytest.raises(MissingCredentials, match="needs OS_PROJECT_NAME"):
        credentials_for("CHI@UC", env)
    creds = credentials_for("CHI@UC", {**env, "OS_PROJECT_NAME": "CHI-123"})
    assert creds.options["project_name"] == "CHI-123"
    assert creds.options["project_domain_name"] == "chameleon"


def test_openrc_app_credential_for_another_site_is_refused() -> None:
    env = {"OS_AUTH_TYPE": "v3applicationcredential", "OS_APPLICATION_CREDENTIAL_ID": "a",
           "OS_APPLICATION_CREDENTIAL_SECRET": SECRET, "OS_AUTH_URL": "https://chi.uc.chameleoncloud.org:5000/v3"}
    with pytest.raises(MissingCredentials, match="issued for another site"):
        credentials_for("KVM@TACC", env)
    assert credentials_for("CHI@UC", env).auth_type == "v3applicationcredential"


def test_unknown_site_and_auth_type() -> None:
    with pytest.raises(ValueError, match="unknown Chameleon site 'KVM@UC'"):
        site_prefix("KVM@UC")
    with pytest.raises(MissingCredentials, match="OS_AUTH_TYPE='v3magic' is not supported"):
        credentials_for("KVM@TACC", {"OS_AUTH_TYPE": "v3magic"})


def test_use_site_points_python_chi_at_the_site(params, app_creds) -> None:
    import chi.context

    use_site("CHI@UC", params)
    assert chi.context.get("auth_url") == "https://chi.uc.chameleoncloud.org:5000/v3"
    assert chi.context.get("region_name") == "CHI@UC"
    assert chi.context.get("auth_type") == "v3applicationcredential"
    assert chi.context.get("application_credential_id") == "chi_uc-id-123456"
    assert chi.context.get("keypair_name") == "alice-jupyter"
