#!/bin/busybox sh
# /init of the test guests: mount the kernel file systems, run /guest-script.sh, report its exit
# status between markers on the serial console, power off. The host harness (run_vm_test.py) reads
# everything between @@XEONVM-BEGIN@@ and @@XEONVM-EXIT n@@.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# No tmpfs over /tmp: the initramfs root is writable already, and the build (with the library and
# xeonrun-spawn at their host paths) may itself live under /tmp, as a CI clone does.
# libomp registers itself in a POSIX shared-memory segment and aborts without /dev/shm.
mkdir -p /dev/shm
mount -t tmpfs shm /dev/shm
echo "@@XEONVM-BEGIN@@"
sh /guest-script.sh 2>&1
rc=$?
echo "@@XEONVM-EXIT $rc@@"
poweroff -f
