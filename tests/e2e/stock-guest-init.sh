#!/bin/sh
# SPDX-License-Identifier: MIT
# shellcheck shell=dash
#
# /init of the stock scenario of tests/e2e/x86_64.sh: Debian's own cloud
# kernel (the emulated host's) booted as a guest by vmm, with its modules
# in this initramfs. It reports what a distribution kernel found of vmm's
# platform (CPUs and the IOAPIC from ACPI's MADT, virtio-mmio devices
# from the DSDT, pvpanic) as "STOCK-..." lines, then ends the way
# vmm.stock= on its command line says: poweroff (after writing
# vmm.token to the ext4 disk /dev/vda; poweroff-nodisk without), panic,
# or reboot.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "STOCK-INIT"

mode= token=
for arg in $(cat /proc/cmdline); do
	case $arg in
	vmm.stock=*) mode=${arg#vmm.stock=} ;;
	vmm.token=*) token=${arg#vmm.token=} ;;
	esac
done

# The module order of their dependencies (modules.dep of that kernel).
for m in virtio_ring virtio virtio_mmio virtio_pci_modern_dev \
	virtio_pci_legacy_dev virtio_pci virtio_blk pvpanic pvpanic-mmio; do
	insmod "/lib/modules/$m.ko" || echo "STOCK: insmod $m.ko failed"
done

echo "STOCK-CPUS online=$(cat /sys/devices/system/cpu/online) nproc=$(grep -c '^processor' /proc/cpuinfo)"
echo "STOCK-IOAPIC $(grep -c 'IO-APIC' /proc/interrupts) interrupts"
echo "STOCK-MSIX $(grep -c 'PCI-MSI' /proc/interrupts) interrupts"
grep -E "PCI-MSI|virtio" /proc/interrupts | sed "s/^/STOCK-IRQ /"
for d in /sys/bus/virtio/devices/*; do
	[ -e "$d/device" ] && echo "STOCK-VIRTIO $(basename "$d") device=$(cat "$d/device") driver=$(basename "$(readlink "$d/driver")")"
done
[ -d /sys/bus/platform/drivers/pvpanic-mmio ] &&
	echo "STOCK-PVPANIC $(ls /sys/bus/platform/drivers/pvpanic-mmio | grep -c QEMU0001)"
echo "STOCK-ACPI-ERRORS $(dmesg | grep -c -E 'ACPI (BIOS )?(Error|Warning)')"
flags=$(grep -m1 '^flags' /proc/cpuinfo)
x=no a=no
case " $flags " in *" xsave "*) x=yes ;; esac
case " $flags " in *" avx "*) a=yes ;; esac
echo "STOCK-FLAGS xsave=$x avx=$a"
dmesg | grep -E 'ACPI|APIC|XSAVE|x86/fpu|virtio|pvpanic|MP-table|clocksource|i8042|ttyS0|reboot|Freeing unused|PCI|pci' |
	head -n 120 | sed 's/^/STOCK-DMESG /'

case $mode in
poweroff)
	i=0
	while [ ! -b /dev/vda ] && [ "$i" -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
	if mkdir -p /mnt && mount -t ext4 /dev/vda /mnt; then
		echo "vmm-stock-$token" >/mnt/stock.txt
		sync
		umount /mnt && echo "STOCK-DISK-WROTE vmm-stock-$token"
	else
		echo "STOCK: cannot mount /dev/vda"
	fi
	echo "STOCK-POWEROFF"
	poweroff -f
	;;
poweroff-nodisk)
	echo "STOCK-POWEROFF"
	poweroff -f
	;;
panic)
	echo "STOCK-PANIC"
	echo c >/proc/sysrq-trigger
	;;
reboot)
	echo "STOCK-REBOOT"
	reboot -f
	;;
esac
echo "STOCK: still running after '$mode'"
sleep 30
