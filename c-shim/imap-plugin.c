/* The imap plugin module imap_shared_imapc, built as Dovecot's own imap_acl
   is: a module of its own, linked against the imap binary and loaded after
   the shared_imapc mail plugin it calls into (Dovecot loads modules with
   RTLD_GLOBAL, in the order of their file names). It takes the place of
   the commands listed below, where they exist (the ACL commands come with
   imap_acl, the quota ones with imap_quota), and passes every folder that
   is not a shared_imapc one on to the command it replaced. */
#include "imap-common.h"
#include "imap-commands.h"
#include "storage.h"
#include "imap-plugin.h"

#define SIC_PUBLIC __attribute__((visibility("default")))

struct sic_replaced_command {
	const char *name;
	command_func_t *func;
	/* The command in place before, NULL when there was none. */
	command_func_t *original;
	enum command_flags flags;
};

static struct sic_replaced_command sic_commands[] = {
	{ "THREAD", sic_cmd_thread, NULL, 0 },
	{ "UID THREAD", sic_cmd_thread, NULL, 0 },
	{ "SORT", sic_cmd_sort, NULL, 0 },
	{ "UID SORT", sic_cmd_sort, NULL, 0 },
	{ "MYRIGHTS", sic_cmd_myrights, NULL, 0 },
	{ "GETACL", sic_cmd_getacl, NULL, 0 },
	{ "LISTRIGHTS", sic_cmd_listrights, NULL, 0 },
	{ "SETACL", sic_cmd_setacl, NULL, 0 },
	{ "DELETEACL", sic_cmd_deleteacl, NULL, 0 },
	{ "GETQUOTAROOT", sic_cmd_getquotaroot, NULL, 0 },
	{ "GETQUOTA", sic_cmd_getquota, NULL, 0 },
};

SIC_PUBLIC const char *imap_shared_imapc_plugin_version = DOVECOT_ABI_VERSION;
SIC_PUBLIC const char *imap_shared_imapc_plugin_dependencies[] = {
	"shared_imapc", NULL
};
SIC_PUBLIC const char imap_shared_imapc_plugin_binary_dependency[] = "imap";

bool sic_imap_call_original(struct client_command_context *cmd,
			    const char *name)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(sic_commands); i++) {
		if (strcmp(sic_commands[i].name, name) == 0) {
			/* The rest of the command (its arguments may still
			   be on their way) runs the original directly. */
			cmd->func = sic_commands[i].original;
			return cmd->func(cmd);
		}
	}
	i_unreached();
}

bool sic_imap_shared_folder(struct mail_namespace *ns, const char *mailbox,
			    struct sic_owner **owner_r, const char **folder_r)
{
	struct mail_storage *storage = mail_namespace_get_default_storage(ns);

	if (storage == NULL || strcmp(storage->name, SIC_STORAGE_NAME) != 0)
		return FALSE;
	*owner_r = SIC_STORAGE(storage)->owner;
	*folder_r = strncmp(mailbox, ns->prefix, ns->prefix_len) == 0 ?
		mailbox + ns->prefix_len : "";
	return TRUE;
}

int sic_imap_find_folder(struct client_command_context *cmd,
			 const char **mailbox, struct sic_owner **owner_r,
			 const char **folder_r)
{
	struct mail_namespace *ns = client_find_namespace(cmd, mailbox);

	if (ns == NULL)
		return -1;
	if (!sic_imap_shared_folder(ns, *mailbox, owner_r, folder_r))
		return 0;
	if (*owner_r == NULL || **folder_r == '\0') {
		sic_imap_send_not_found(cmd, *mailbox);
		return -1;
	}
	return 1;
}

static const char *sic_imap_error_tagline(const struct sic_error *error,
					  const char *mailbox)
{
	switch (error->kind) {
	case SIC_ERR_NOTFOUND:
		return t_strconcat("NO [NONEXISTENT] ",
				   T_MAIL_ERR_MAILBOX_NOT_FOUND(mailbox), NULL);
	case SIC_ERR_PERM:
		return t_strconcat("NO [NOPERM] ", error->message, NULL);
	case SIC_ERR_UNAVAILABLE:
		return t_strconcat("NO [UNAVAILABLE] ", error->message, NULL);
	case SIC_ERR_NOTPOSSIBLE:
		return t_strconcat("NO [CANNOT] ", error->message, NULL);
	case SIC_ERR_PARAMS:
		return t_strconcat("NO [CLIENTBUG] ", error->message, NULL);
	default:
		/* The owner's server said NO without a code we know. */
		return t_strconcat("NO ", error->message, NULL);
	}
}

void sic_imap_send_error(struct client_command_context *cmd,
			 struct sic_error *error, const char *mailbox)
{
	client_send_tagline(cmd, sic_imap_error_tagline(error, mailbox));
	sic_error_clear(error);
}

void sic_imap_send_not_found(struct client_command_context *cmd,
			     const char *mailbox)
{
	struct sic_error error;

	i_zero(&error);
	error.kind = SIC_ERR_NOTFOUND;
	sic_imap_send_error(cmd, &error, mailbox);
}

/* The client's selected folder, when it is a shared_imapc one. */
static struct sic_mailbox *sic_imap_selected(struct client_command_context *cmd)
{
	struct mailbox *box = cmd->client->mailbox;

	if (box == NULL || strcmp(box->storage->name, SIC_STORAGE_NAME) != 0)
		return NULL;
	return SIC_MAILBOX(box);
}

/* Notes when the client's command began, for the selected folder's sync
   after it: that sync may run in a later wakeup (an APPEND's does), and a
   remote command sent since the command began told the news as of then.
   Not for IDLE, whose syncs come from the remote's news long after. */
static void sic_imap_command_pre(struct client_command_context *cmd)
{
	struct sic_mailbox *mbox = sic_imap_selected(cmd);
	const struct timeval *began = &cmd->stats.start_time;

	if (mbox == NULL)
		return;
	mbox->command_began = strcmp(cmd->name, "IDLE") == 0 ? 0 :
		(uint64_t)began->tv_sec * 1000000 + (uint64_t)began->tv_usec;
}

/* Forgets it unless the command's sync is still to come: a later sync
   that no command drives (NOTIFY's) must not take it. */
static void sic_imap_command_post(struct client_command_context *cmd)
{
	struct sic_mailbox *mbox = sic_imap_selected(cmd);

	if (mbox != NULL && cmd->state != CLIENT_COMMAND_STATE_WAIT_SYNC)
		mbox->command_began = 0;
}

SIC_PUBLIC void imap_shared_imapc_plugin_init(struct module *module ATTR_UNUSED)
{
	struct sic_replaced_command *c;
	struct command *command;
	unsigned int i;

	command_hook_register(sic_imap_command_pre, sic_imap_command_post);
	for (i = 0; i < N_ELEMENTS(sic_commands); i++) {
		c = &sic_commands[i];
		command = command_find(c->name);
		if (command == NULL)
			continue;
		c->original = command->func;
		c->flags = command->flags;
		command_unregister(c->name);
		command_register(c->name, c->func, c->flags);
	}
}

SIC_PUBLIC void imap_shared_imapc_plugin_deinit(void)
{
	struct sic_replaced_command *c;
	unsigned int i;

	command_hook_unregister(sic_imap_command_pre, sic_imap_command_post);
	for (i = 0; i < N_ELEMENTS(sic_commands); i++) {
		c = &sic_commands[i];
		if (c->original == NULL)
			continue;
		command_unregister(c->name);
		command_register(c->name, c->original, c->flags);
		c->original = NULL;
	}
}
