# Credentials come from the OS_* environment variables, which minutes.infra.terraform rebuilds
# from the site's application credential (KVM_TACC_OS_APPLICATION_CREDENTIAL_ID/SECRET) before
# every terraform call. No clouds.yaml, nothing secret in this directory.
provider "openstack" {}
