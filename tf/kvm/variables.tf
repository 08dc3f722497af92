variable "suffix" {
  description = "User suffix carried by every resource name (names are project-wide)"
  type        = string
}

variable "instance_name" {
  description = "Name of the VM"
  type        = string
}

variable "key_pair" {
  description = "Nova key pair injected into the VM"
  type        = string
}

variable "flavor_id" {
  description = "ID of the reserved flavor (reservation:<id>) of the ACTIVE KVM lease"
  type        = string
}

variable "image_name" {
  description = "Glance image to boot"
  type        = string
  default     = "CC-Ubuntu24.04"
}

variable "network_name" {
  description = "Network the VM's port is on"
  type        = string
  default     = "sharednet1"
}

variable "ports" {
  description = "Public service name => TCP port (infra.public_services only); each gets its own security group"
  type        = map(number)
}

variable "allowed_cidr" {
  description = "Source range allowed to reach the public service ports"
  type        = string
  default     = "0.0.0.0/0"
}

variable "volume_gb" {
  description = "Size of the platform's data volume in GB (0: none)"
  type        = number
  default     = 0
}
