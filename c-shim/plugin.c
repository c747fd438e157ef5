/* Plugin glue: Dovecot's mail storage hooks, and the per-user settings kept
   in the user's module context. */
#include "shim.h"
#include "array.h"
#include "mail-storage-settings.h"
#include "mail-storage.h"
#include "mail-storage-hooks.h"
#include "module-context.h"
#include "shared_imapc.h"

#define SIC_SETTING_PREFIX "shared_imapc_"
#define SIC_USER_CONTEXT(obj) MODULE_CONTEXT(obj, sic_user_module)

struct sic_user {
	union mail_user_module_context module_ctx;
	struct sic_settings *set;
};

static MODULE_CONTEXT_DEFINE_INIT(sic_user_module, &mail_user_module_register);

static void sic_user_deinit(struct mail_user *user)
{
	struct sic_user *suser = SIC_USER_CONTEXT(user);

	sic_settings_free(suser->set);
	suser->module_ctx.super.deinit(user);
}

/* Reads the user's shared_imapc_* settings; invalid ones fail the user. */
static struct sic_settings *sic_user_read_settings(struct mail_user *user)
{
	ARRAY_TYPE(const_string) keys, values;
	const char *const *envs;
	unsigned int i, count;
	struct sic_settings *set;
	char *error = NULL;

	t_array_init(&keys, 16);
	t_array_init(&values, 16);
	if (array_is_created(&user->set->plugin_envs)) {
		envs = array_get(&user->set->plugin_envs, &count);
		for (i = 0; i + 1 < count; i += 2) {
			if (!str_begins(envs[i], SIC_SETTING_PREFIX))
				continue;
			array_push_back(&keys, &envs[i]);
			array_push_back(&values, &envs[i + 1]);
		}
	}
	count = array_count(&keys);
	set = sic_settings_parse(count == 0 ? NULL : array_front(&keys),
				 count == 0 ? NULL : array_front(&values),
				 count, &error);
	if (set == NULL) {
		user->error = p_strdup_printf(user->pool,
			"shared_imapc: invalid settings for user %s: %s",
			user->username, error != NULL ? error : "unknown error");
		sic_string_free(error);
	}
	return set;
}

static void sic_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct sic_user *suser;
	struct sic_settings *set;
	char *description;

	set = sic_user_read_settings(user);
	if (set == NULL)
		return;
	if (user->mail_debug) {
		description = sic_settings_describe(set);
		e_debug(user->event, "shared_imapc: settings: %s",
			description != NULL ? description : "(unavailable)");
		sic_string_free(description);
	}

	suser = p_new(user->pool, struct sic_user, 1);
	suser->set = set;
	suser->module_ctx.super = *v;
	user->vlast = &suser->module_ctx.super;
	v->deinit = sic_user_deinit;
	MODULE_CONTEXT_SET(user, sic_user_module, suser);
}

static struct mail_storage_hooks sic_mail_storage_hooks = {
	.mail_user_created = sic_mail_user_created,
};

/* Whether this process has mail storage (imap, lmtp, doveadm …): Dovecot's
   dict server loads the module too, only for the dict driver, and has no
   storage hooks to add to. */
static bool sic_storage_hooks_added;

void sic_shim_init(struct module *module)
{
	if (array_is_created(&mail_storage_classes)) {
		mail_storage_hooks_add(module, &sic_mail_storage_hooks);
		sic_storage_hooks_added = TRUE;
	}
	sic_dict_driver_register();
}

void sic_shim_deinit(void)
{
	sic_dict_driver_unregister();
	if (sic_storage_hooks_added)
		mail_storage_hooks_remove(&sic_mail_storage_hooks);
	sic_storage_hooks_added = FALSE;
}
