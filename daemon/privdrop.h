/* privdrop.h — become the configured user, keeping only CAP_NET_ADMIN,
 * CAP_NET_RAW and CAP_NET_BIND_SERVICE (DESIGN.md, Privileges). */
#ifndef GW_PRIVDROP_H
#define GW_PRIVDROP_H

#include <sys/types.h>

/* Look up USER: its uid and primary gid. 0 or -ENOENT. */
int gw_user_lookup(const char *user, uid_t *uid, gid_t *gid);
/* Switch to UID/GID (supplementary groups: GID's only), keeping the three
 * capabilities permitted and effective. 0 or negative errno. */
int gw_drop_privileges(uid_t uid, gid_t gid);

#endif
