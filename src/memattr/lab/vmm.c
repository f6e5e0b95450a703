/*
 * memattr lab VMM: the smallest KVM/arm64 VMM that hands vfio-pci BARs to a guest.
 *
 * usage: vmm MAIR BAR_ATTRIDX RAM_ATTRIDX GROUP:BDF:BAR:IPA:WRITE ...
 *
 * For each argument it opens the vfio group, gets the device, mmaps the BAR's region (the VMM's own
 * user mapping, made by vfio-pci's mmap with its pgprot), reads four bytes through the region's file
 * (so vfio-pci ioremaps the BAR in the host kernel: its barmap) and registers the mapping as a KVM
 * memslot at IPA.  The guest runs with its MMU on from the first instruction: MAIR_EL1 = MAIR, an
 * identity map of the first GiB (every BAR) with AttrIndx BAR_ATTRIDX and of guest RAM (1-2 GiB) with
 * RAM_ATTRIDX.  Guest code reads (and, when WRITE is 1, first writes) one word of each BAR, then spins.
 * The vCPU thread runs on CPU 0; the main thread prints "MEMATTR-LAB PARKED ..." and spins in user
 * space on CPU 1, so a debugger stopping the machine finds CPU 0 in the guest and CPU 1 in the VMM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define RAM_IPA 0x40000000UL
#define RAM_SIZE 0x200000UL
#define TABLE_OFFSET 0x1000UL  /* the guest's level-1 table */
#define LIST_OFFSET 0x2000UL   /* the list of (address, write) pairs the guest code walks */
#define MAX_BARS 8

static void die(const char *what)
{
	fprintf(stderr, "MEMATTR-LAB ERROR %s: %s\n", what, strerror(errno));
	fflush(stderr);
	exit(1);
}

static int vcpu_fd;
static struct kvm_run *vcpu_run;

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *run_vcpu(void *unused)
{
	(void)unused;
	pin(0);
	for (;;) {
		if (ioctl(vcpu_fd, KVM_RUN, 0) < 0 && errno != EINTR)
			die("KVM_RUN");
		/* The guest only spins: any exit other than an interrupted run is reported. */
		fprintf(stderr, "MEMATTR-LAB EXIT reason %u\n", vcpu_run->exit_reason);
	}
	return NULL;
}

static uint64_t sysreg(int op0, int op1, int crn, int crm, int op2)
{
	return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM64_SYSREG |
	       ((uint64_t)op0 << KVM_REG_ARM64_SYSREG_OP0_SHIFT) | ((uint64_t)op1 << KVM_REG_ARM64_SYSREG_OP1_SHIFT) |
	       ((uint64_t)crn << KVM_REG_ARM64_SYSREG_CRN_SHIFT) | ((uint64_t)crm << KVM_REG_ARM64_SYSREG_CRM_SHIFT) |
	       ((uint64_t)op2 << KVM_REG_ARM64_SYSREG_OP2_SHIFT);
}

static void set_reg(uint64_t id, uint64_t value, const char *name)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uint64_t)&value };
	if (ioctl(vcpu_fd, KVM_SET_ONE_REG, &reg) < 0)
		die(name);
}

/* Guest code (AArch64, position independent): x3 = the list; for each (address, write): write 'MA'
 * when asked, read one word; then spin. */
static const uint32_t guest_code[] = {
	0x58000143, /* ldr  x3, list        (the literal at byte 40) */
	0x5289a820, /* movz w0, #0x4d41 */
	0xa8c11061, /* loop: ldp x1, x4, [x3], #16 */
	0xb40000a1, /* cbz  x1, done */
	0xb4000044, /* cbz  x4, skip */
	0xb9000020, /* str  w0, [x1] */
	0xb9400022, /* skip: ldr w2, [x1] */
	0x17fffffb, /* b    loop */
	0x14000000, /* done: b . */
	0xd503201f, /* nop (pads the literal to 8 bytes) */
	(uint32_t)(RAM_IPA + LIST_OFFSET), (uint32_t)((RAM_IPA + LIST_OFFSET) >> 32),
};

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: %s MAIR BAR_ATTRIDX RAM_ATTRIDX GROUP:BDF:BAR:IPA:WRITE ...\n", argv[0]);
		return 2;
	}
	uint64_t mair = strtoull(argv[1], NULL, 0);
	uint64_t bar_idx = strtoull(argv[2], NULL, 0), ram_idx = strtoull(argv[3], NULL, 0);

	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("open /dev/kvm");
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");

	uint8_t *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap guest RAM");
	memset(ram, 0, RAM_SIZE);
	memcpy(ram, guest_code, sizeof(guest_code));
	uint64_t *table = (uint64_t *)(ram + TABLE_OFFSET);
	/* Level-1 block descriptors (4KB granule, 1GiB): AF | SH=Inner Shareable | AttrIndx | Block. */
	table[0] = 0x0UL | (1UL << 10) | (3UL << 8) | (bar_idx << 2) | 1UL;
	table[1] = RAM_IPA | (1UL << 10) | (3UL << 8) | (ram_idx << 2) | 1UL;
	struct kvm_userspace_memory_region slot = {
		.slot = 0, .guest_phys_addr = RAM_IPA, .memory_size = RAM_SIZE, .userspace_addr = (uint64_t)ram,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		die("KVM_SET_USER_MEMORY_REGION ram");

	int container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		die("open /dev/vfio/vfio");
	uint64_t *list = (uint64_t *)(ram + LIST_OFFSET);
	int bars = 0;
	for (int i = 4; i < argc && bars < MAX_BARS; i++) {
		char group_path[64], bdf[32];
		unsigned group, bar, write;
		unsigned long long ipa;
		if (sscanf(argv[i], "%u:%31[^:]:%u:%llx:%u", &group, bdf, &bar, &ipa, &write) != 5) {
			/* A BDF has colons: take GROUP, then the BDF's three parts. */
			char dom[8], bus[8], devfn[16];
			if (sscanf(argv[i], "%u:%7[^:]:%7[^:]:%15[^:]:%u:%llx:%u", &group, dom, bus, devfn, &bar, &ipa,
				   &write) != 7) {
				fprintf(stderr, "MEMATTR-LAB ERROR bad argument %s\n", argv[i]);
				return 2;
			}
			snprintf(bdf, sizeof(bdf), "%s:%s:%s", dom, bus, devfn);
		}
		snprintf(group_path, sizeof(group_path), "/dev/vfio/%u", group);
		int group_fd = open(group_path, O_RDWR | O_CLOEXEC);
		if (group_fd < 0)
			die(group_path);
		struct vfio_group_status status = { .argsz = sizeof(status) };
		if (ioctl(group_fd, VFIO_GROUP_GET_STATUS, &status) < 0 || !(status.flags & VFIO_GROUP_FLAGS_VIABLE))
			die("group not viable");
		if (ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &container) < 0)
			die("VFIO_GROUP_SET_CONTAINER");
		if (bars == 0 && ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
			die("VFIO_SET_IOMMU");
		int device = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, bdf);
		if (device < 0)
			die("VFIO_GROUP_GET_DEVICE_FD");
		struct vfio_region_info info = { .argsz = sizeof(info), .index = bar };
		if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &info) < 0)
			die("VFIO_DEVICE_GET_REGION_INFO");
		if (!(info.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
			printf("MEMATTR-LAB SKIP %s %u vfio-pci does not allow mmap (size 0x%llx)\n", bdf, bar,
			       (unsigned long long)info.size);
			continue;
		}
		void *map = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED, device, info.offset);
		if (map == MAP_FAILED) {
			printf("MEMATTR-LAB SKIP %s %u mmap: %s\n", bdf, bar, strerror(errno));
			continue;
		}
		uint32_t word;
		if (pread(device, &word, sizeof(word), info.offset) != sizeof(word))
			die("pread BAR (vfio-pci barmap)");
		word = *(volatile uint32_t *)map; /* populate the VMM's own PTE */
		struct kvm_userspace_memory_region bar_slot = {
			.slot = 1 + bars, .guest_phys_addr = ipa, .memory_size = info.size, .userspace_addr = (uint64_t)map,
		};
		if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &bar_slot) < 0)
			die("KVM_SET_USER_MEMORY_REGION bar");
		list[2 * bars] = ipa;
		list[2 * bars + 1] = write;
		printf("MEMATTR-LAB BAR %s %u ipa=0x%llx size=0x%llx vmm_va=%p\n", bdf, bar, ipa,
		       (unsigned long long)info.size, map);
		bars++;
	}

	vcpu_fd = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu_fd < 0)
		die("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0)
		die("KVM_GET_VCPU_MMAP_SIZE");
	vcpu_run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
	if (vcpu_run == MAP_FAILED)
		die("mmap kvm_run");
	struct kvm_vcpu_init init;
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		die("KVM_ARM_PREFERRED_TARGET");
	if (ioctl(vcpu_fd, KVM_ARM_VCPU_INIT, &init) < 0)
		die("KVM_ARM_VCPU_INIT");
	set_reg(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(regs.pc), RAM_IPA, "PC");
	set_reg(sysreg(3, 0, 10, 2, 0), mair, "MAIR_EL1");
	/* T0SZ=25 (39-bit VA, start at level 1), inner/outer WBWA, Inner Shareable walks, 4KB granule,
	 * EPD1 (no TTBR1 walks), IPS 40 bits. */
	set_reg(sysreg(3, 0, 2, 0, 2), 25UL | (1UL << 8) | (1UL << 10) | (3UL << 12) | (1UL << 23) | (2UL << 32),
		"TCR_EL1");
	set_reg(sysreg(3, 0, 2, 0, 0), RAM_IPA + TABLE_OFFSET, "TTBR0_EL1");
	/* SCTLR_EL1: RES1 bits, M, C, I. */
	set_reg(sysreg(3, 0, 1, 0, 0), 0x30d00800UL | 1UL | (1UL << 2) | (1UL << 12), "SCTLR_EL1");

	pthread_t thread;
	if (pthread_create(&thread, NULL, run_vcpu, NULL) != 0)
		die("pthread_create");
	pin(1);
	sleep(2);
	printf("MEMATTR-LAB PARKED pid=%d bars=%d\n", getpid(), bars);
	fflush(stdout);
	for (volatile uint64_t spin = 0;; spin++)
		;
}
