data "openstack_networking_network_v2" "net" {
  name = var.network_name
}

resource "openstack_networking_secgroup_v2" "service" {
  for_each    = var.ports
  name        = "minutes-allow-${each.key}-${var.suffix}"
  description = "Minutes: allow TCP ${each.value} (${each.key})"
}

resource "openstack_networking_secgroup_rule_v2" "service" {
  for_each          = var.ports
  direction         = "ingress"
  ethertype         = "IPv4"
  protocol          = "tcp"
  port_range_min    = each.value
  port_range_max    = each.value
  remote_ip_prefix  = var.allowed_cidr
  security_group_id = openstack_networking_secgroup_v2.service[each.key].id
}

resource "openstack_networking_port_v2" "vm" {
  name               = "${var.instance_name}-port"
  network_id         = data.openstack_networking_network_v2.net.id
  security_group_ids = [for sg in openstack_networking_secgroup_v2.service : sg.id]
}

resource "openstack_compute_instance_v2" "vm" {
  name       = var.instance_name
  image_name = var.image_name
  flavor_id  = var.flavor_id
  key_pair   = var.key_pair

  network {
    port = openstack_networking_port_v2.vm.id
  }
}

resource "openstack_networking_floatingip_v2" "vm" {
  pool        = "public"
  description = "minutes-kvm-fip-${var.suffix}"
  port_id     = openstack_networking_port_v2.vm.id
  depends_on  = [openstack_compute_instance_v2.vm]
}

resource "openstack_blockstorage_volume_v3" "data" {
  count       = var.volume_gb > 0 ? 1 : 0
  name        = "minutes-kvm-data-${var.suffix}"
  size        = var.volume_gb
  description = "Minutes platform data (Postgres, MinIO)"
}

resource "openstack_compute_volume_attach_v2" "data" {
  count       = var.volume_gb > 0 ? 1 : 0
  instance_id = openstack_compute_instance_v2.vm.id
  volume_id   = openstack_blockstorage_volume_v3.data[0].id
}
