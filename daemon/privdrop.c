/* privdrop.c — see privdrop.h. Raw capset(2) rather than libcap: three
 * capabilities do not justify a dependency. */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int gw_user_lookup(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw)
		return errno ? -errno : -ENOENT;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

#define GW_KEPT_CAPS \
	((1u << CAP_NET_ADMIN) | (1u << CAP_NET_RAW) | (1u << CAP_NET_BIND_SERVICE))

static int set_caps(uint32_t effective, uint32_t permitted)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2] = {{0}};

	data[0].effective = effective;
	data[0].permitted = permitted;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}

int gw_drop_privileges(uid_t uid, gid_t gid)
{
	int rc;

	/* Narrow first while still root, so no window has extra capabilities
	 * after the uid change; KEEPCAPS keeps the permitted set across it. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return -errno;
	/* Empty the bounding set of everything else, so nothing exec'd later
	 * (there should be nothing) can regain it. It needs CAP_SETPCAP; a
	 * supervisor that already narrowed the set may have withheld it, and
	 * then what it left is what bounds us. */
	for (int cap = 0; cap < 64; cap++) {
		int in_set = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (in_set < 0)
			break; /* past the kernel's last capability */
		if (!in_set || (GW_KEPT_CAPS & (1ull << cap)))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EPERM)
				break;
			return -errno;
		}
	}
	if (setgroups(1, &gid) < 0)
		return -errno;
	if (setresgid(gid, gid, gid) < 0)
		return -errno;
	if (setresuid(uid, uid, uid) < 0)
		return -errno;
	/* the uid change cleared the effective set; raise what we keep */
	rc = set_caps(GW_KEPT_CAPS, GW_KEPT_CAPS);
	if (rc < 0)
		return rc;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return -errno;
	/* and make sure no way back exists */
	if (setresuid(0, 0, 0) == 0)
		return -EPERM;
	return 0;
}
