/* Group rights in sessions a master user opens as the owner (shared_imapc
   on another backend logs in as alice with bob as master user). Dovecot's
   acl plugin then checks rights as the master user (acl_user), but group
   rights ($group identifiers) with acl_groups of the session's user: the
   owner's. Here they become the master user's own acl_groups (from its
   userdb entry), so a folder alice shares with her group is not shown to
   bob for being alice's. The acl plugin is looked up at run time: without
   it nothing needs doing. */
#include "shim.h"
#include <dlfcn.h>
#include "module-context.h"
#include "auth-master.h"
#include "acl-plugin.h"
#include "storage.h"

/* The acl plugin's user context, or NULL. */
static struct acl_user *sic_acl_user(struct mail_user *user)
{
	struct {
		struct module_context_id id;
	} *acl_module = dlsym(RTLD_DEFAULT, "acl_user_module");
	unsigned int id;

	if (acl_module == NULL)
		return NULL;
	id = module_get_context_id(&acl_module->id);
	if (id >= array_count(&user->module_contexts))
		return NULL;
	return *(void **)array_idx_modifiable(&user->module_contexts, id);
}

/* The master user's acl_groups, copied to the user's pool; NULL when it
   has none. -1 on failure. */
static int sic_master_groups(struct mail_user *user, const char *master,
			     const char **groups_r)
{
	pool_t pool = pool_alloconly_create("shared_imapc userdb lookup", 1024);
	struct auth_master_connection *conn;
	struct auth_user_info info;
	const char *const *fields, *username;
	int ret;

	*groups_r = NULL;
	i_zero(&info);
	info.service = user->service;
	conn = auth_master_init(t_strconcat(user->set->base_dir,
					    "/auth-userdb", NULL), 0);
	/* Not in a data stack pool: the lookup runs an ioloop. */
	ret = auth_master_user_lookup(conn, master, &info, pool,
				      &username, &fields);
	auth_master_deinit(&conn);
	for (; ret > 0 && *fields != NULL; fields++) {
		if (str_begins(*fields, "acl_groups=")) {
			*groups_r = p_strdup(user->pool,
					     *fields + strlen("acl_groups="));
		}
	}
	pool_unref(&pool);
	return ret;
}

void sic_acl_use_master_groups(struct mail_user *user)
{
	const char *master = mail_user_plugin_getenv(user, "master_user");
	const char *groups;
	struct acl_user *auser;

	if (master == NULL || *master == '\0' ||
	    strcmp(master, user->username) == 0)
		return;
	auser = sic_acl_user(user);
	if (auser == NULL)
		return;
	T_BEGIN {
		if (sic_master_groups(user, master, &groups) < 0) {
			/* Safer without group rights than with the owner's. */
			e_warning(user->event, "shared_imapc: cannot look up "
				  "master user %s's groups: no group rights "
				  "in this session", master);
		}
		auser->groups = groups == NULL ? NULL :
			(const char *const *)p_strsplit(user->pool, groups, ",");
		if (user->mail_debug) {
			e_debug(user->event, "shared_imapc: group rights of "
				"master user %s: %s", master,
				groups == NULL ? "(none)" : groups);
		}
	} T_END;
}
