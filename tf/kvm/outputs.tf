output "floating_ip" {
  value = openstack_networking_floatingip_v2.vm.address
}

output "instance_id" {
  value = openstack_compute_instance_v2.vm.id
}

output "volume_id" {
  value = var.volume_gb > 0 ? openstack_blockstorage_volume_v3.data[0].id : null
}

output "security_groups" {
  value = [for sg in openstack_networking_secgroup_v2.service : sg.name]
}
