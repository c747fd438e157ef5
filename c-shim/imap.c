/* IMAP commands that go to the owner's server whole when they concern a
   shared_imapc folder: THREAD (the remote threads; Dovecot would read every
   message's headers), SORT (the remote's order printed as it is), and
   MYRIGHTS, GETACL and LISTRIGHTS (the owner's server holds the ACLs that
   apply). Other folders keep Dovecot's own
   commands. Only the imap process has these functions: they are looked up
   at run time, so the same module loads in lmtp, doveadm or the dict
   server too. */
#include "shim.h"
#include <dlfcn.h>
#include "str.h"
#include "imap-arg.h"
#include "imap-quote.h"
#include "mail-search.h"
#include "imap-client.h"
#include "imap-search-args.h"
#include "storage.h"

static struct {
	__typeof__(command_find) *command_find;
	__typeof__(client_read_args) *client_read_args;
	__typeof__(client_read_string_args) *client_read_string_args;
	__typeof__(client_send_line) *client_send_line;
	__typeof__(client_send_tagline) *client_send_tagline;
	__typeof__(client_send_box_error) *client_send_box_error;
	__typeof__(client_find_namespace) *client_find_namespace;
	__typeof__(imap_search_args_build) *imap_search_args_build;
	__typeof__(cmd_sync) *cmd_sync;
} imap;

struct sic_command_hook {
	const char *name;
	command_func_t *func;
	command_func_t *original;
};

static bool sic_cmd_thread(struct client_command_context *cmd);
static bool sic_cmd_sort(struct client_command_context *cmd);
static bool sic_cmd_myrights(struct client_command_context *cmd);
static bool sic_cmd_getacl(struct client_command_context *cmd);
static bool sic_cmd_listrights(struct client_command_context *cmd);

static struct sic_command_hook sic_hooks[] = {
	{ "THREAD", sic_cmd_thread, NULL },
	{ "UID THREAD", sic_cmd_thread, NULL },
	{ "SORT", sic_cmd_sort, NULL },
	{ "UID SORT", sic_cmd_sort, NULL },
	{ "MYRIGHTS", sic_cmd_myrights, NULL },
	{ "GETACL", sic_cmd_getacl, NULL },
	{ "LISTRIGHTS", sic_cmd_listrights, NULL },
};

static bool sic_call_original(struct client_command_context *cmd,
			      const char *name)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(sic_hooks); i++) {
		if (strcmp(sic_hooks[i].name, name) == 0)
			return sic_hooks[i].original(cmd);
	}
	i_unreached();
}

static struct sic_mailbox *sic_selected_folder(struct client *client)
{
	struct mailbox *box = client->mailbox;

	if (box == NULL || strcmp(box->storage->name, SIC_STORAGE_NAME) != 0 ||
	    SIC_MAILBOX(box)->folder == NULL)
		return NULL;
	return SIC_MAILBOX(box);
}

static bool sic_thread_remote(struct client_command_context *cmd,
			      struct sic_mailbox *mbox,
			      const struct imap_arg *args, bool *fallback_r)
{
	struct mailbox *box = &mbox->box;
	struct mail_search_args *sargs;
	ARRAY_TYPE(const_string) keys;
	ARRAY(uint32_t) uids;
	const char *algorithm, *charset;
	struct sic_error error;
	char *text;
	uint32_t seq, uid, count;
	int ret, fallback = 0;

	*fallback_r = FALSE;
	if (!imap_arg_get_atom(&args[0], &algorithm) ||
	    !imap_arg_get_astring(&args[1], &charset)) {
		/* Dovecot's THREAD words the syntax error. */
		*fallback_r = TRUE;
		return TRUE;
	}
	ret = imap.imap_search_args_build(cmd, args + 2, charset, &sargs);
	if (ret <= 0)
		return ret < 0;
	sic_search_keys(box, sargs, &keys);
	t_array_init(&uids, 64);
	count = mail_index_view_get_messages_count(box->view);
	for (seq = 1; seq <= count && !cmd->uid; seq++) {
		mail_index_lookup_uid(box->view, seq, &uid);
		array_push_back(&uids, &uid);
	}
	i_zero(&error);
	text = sic_folder_thread(mbox->folder, algorithm,
		array_is_empty(&keys) ? NULL : array_front(&keys),
		array_count(&keys),
		cmd->uid || array_is_empty(&uids) ? NULL : array_front(&uids),
		array_count(&uids), &fallback, &error);
	mail_search_args_unref(&sargs);
	if (text == NULL && fallback != 0) {
		*fallback_r = TRUE;
		return TRUE;
	}
	if (text == NULL) {
		sic_mailbox_report(box, &error);
		imap.client_send_box_error(cmd, box);
		return TRUE;
	}
	imap.client_send_line(cmd->client, t_strconcat("* THREAD ", text, NULL));
	sic_string_free(text);
	return imap.cmd_sync(cmd, MAILBOX_SYNC_FLAG_FAST |
			     (cmd->uid ? 0 : MAILBOX_SYNC_FLAG_NO_EXPUNGES),
			     0, "OK Thread completed.");
}

static bool sic_cmd_thread(struct client_command_context *cmd)
{
	struct sic_mailbox *mbox = sic_selected_folder(cmd->client);
	const struct imap_arg *args;
	bool fallback, ret;

	if (mbox == NULL)
		return sic_call_original(cmd, cmd->uid ? "UID THREAD" : "THREAD");
	if (!imap.client_read_args(cmd, 0, 0, &args))
		return FALSE;
	T_BEGIN {
		ret = sic_thread_remote(cmd, mbox, args, &fallback);
	} T_END;
	return fallback ?
		sic_call_original(cmd, cmd->uid ? "UID THREAD" : "THREAD") : ret;
}

/* The remote's SORT answer, as sequence numbers or UIDs. */
static void sic_sort_send(struct client_command_context *cmd,
			  struct mailbox *box, struct sic_search *result)
{
	string_t *line;
	char number[MAX_INT_STRLEN];
	const uint32_t *uids;
	unsigned int i, count;
	uint32_t seq;

	uids = sic_search_uids(result, &count);
	line = t_str_new(16 + count * 6);
	str_append(line, "* SORT");
	for (i = 0; i < count; i++) {
		seq = uids[i];
		if (!cmd->uid && !mail_index_lookup_seq(box->view, uids[i], &seq))
			continue;
		/* Not str_printfa: at 10,000 numbers its formatting shows. */
		str_append_c(line, ' ');
		str_append(line, dec2str_buf(number, seq));
	}
	imap.client_send_line(cmd->client, str_c(line));
}

static bool sic_sort_remote(struct client_command_context *cmd,
			    struct sic_mailbox *mbox,
			    const struct imap_arg *args, bool *fallback_r)
{
	struct mailbox *box = &mbox->box;
	const struct imap_arg *list;
	struct mail_search_args *sargs;
	ARRAY_TYPE(const_string) keys, criteria;
	struct sic_search *result;
	struct sic_error error;
	const char *charset, *criterion;
	int ret;

	/* SORT (criteria) charset keys; ESORT's RETURN stays Dovecot's. */
	*fallback_r = TRUE;
	if (!imap_arg_get_list(&args[0], &list) ||
	    !imap_arg_get_astring(&args[1], &charset))
		return TRUE;
	t_array_init(&criteria, 8);
	for (; list->type != IMAP_ARG_EOL; list++) {
		if (!imap_arg_get_atom(list, &criterion))
			return TRUE;
		criterion = t_str_ucase(criterion);
		array_push_back(&criteria, &criterion);
	}
	array_append_zero(&criteria);
	ret = imap.imap_search_args_build(cmd, args + 2, charset, &sargs);
	if (ret <= 0) {
		*fallback_r = FALSE;
		return ret < 0;
	}
	sic_search_keys(box, sargs, &keys);
	i_zero(&error);
	result = sic_folder_search(mbox->folder,
		array_is_empty(&keys) ? NULL : array_front(&keys),
		array_count(&keys), array_front(&criteria), &error);
	mail_search_args_unref(&sargs);
	if (result == NULL) {
		*fallback_r = FALSE;
		sic_mailbox_report(box, &error);
		imap.client_send_box_error(cmd, box);
		return TRUE;
	}
	if (sic_search_is_sorted(result) == 0) {
		sic_search_free(result);
		return TRUE;
	}
	*fallback_r = FALSE;
	sic_sort_send(cmd, box, result);
	sic_search_free(result);
	return imap.cmd_sync(cmd, MAILBOX_SYNC_FLAG_FAST |
			     (cmd->uid ? 0 : MAILBOX_SYNC_FLAG_NO_EXPUNGES),
			     0, "OK Sort completed.");
}

/* SORT answered by the remote whole: its order, without Dovecot walking
   every message (the search path does that when this cannot be used). */
static bool sic_cmd_sort(struct client_command_context *cmd)
{
	struct sic_mailbox *mbox = sic_selected_folder(cmd->client);
	const char *name = cmd->uid ? "UID SORT" : "SORT";
	const struct imap_arg *args;
	bool fallback, ret;

	if (mbox == NULL)
		return sic_call_original(cmd, name);
	if (!imap.client_read_args(cmd, 0, 0, &args))
		return FALSE;
	T_BEGIN {
		ret = sic_sort_remote(cmd, mbox, args, &fallback);
	} T_END;
	return fallback ? sic_call_original(cmd, name) : ret;
}

static const char *sic_error_tagline(const struct sic_error *error,
				     const char *vname)
{
	switch (error->kind) {
	case SIC_ERR_NOTFOUND:
		return t_strconcat("NO [NONEXISTENT] ",
				   T_MAIL_ERR_MAILBOX_NOT_FOUND(vname), NULL);
	case SIC_ERR_PERM:
		return t_strconcat("NO [NOPERM] ", error->message, NULL);
	case SIC_ERR_UNAVAILABLE:
		return t_strconcat("NO [UNAVAILABLE] ", error->message, NULL);
	default:
		return t_strconcat("NO [SERVERBUG] ", error->message, NULL);
	}
}

/* MYRIGHTS, GETACL, LISTRIGHTS: answered by the owner's server. */
static bool sic_cmd_acl(struct client_command_context *cmd, const char *name,
			const char *response, bool with_identifier)
{
	struct mail_namespace *ns;
	struct mail_storage *storage;
	struct sic_storage *sstorage;
	struct sic_error error;
	const char *mailbox, *orig_mailbox, *identifier = NULL, *folder;
	string_t *line;
	char *text;
	bool read;

	read = with_identifier ?
		imap.client_read_string_args(cmd, 2, &mailbox, &identifier) :
		imap.client_read_string_args(cmd, 1, &mailbox);
	if (!read)
		return FALSE;
	orig_mailbox = mailbox;
	ns = imap.client_find_namespace(cmd, &mailbox);
	if (ns == NULL)
		return TRUE;
	storage = mail_namespace_get_default_storage(ns);
	if (storage == NULL || strcmp(storage->name, SIC_STORAGE_NAME) != 0)
		return sic_call_original(cmd, name);

	sstorage = SIC_STORAGE(storage);
	folder = strncmp(mailbox, ns->prefix, ns->prefix_len) == 0 ?
		mailbox + ns->prefix_len : "";
	i_zero(&error);
	if (sstorage->owner == NULL || *folder == '\0') {
		error.kind = SIC_ERR_NOTFOUND;
		imap.client_send_tagline(cmd, sic_error_tagline(&error, mailbox));
		return TRUE;
	}
	text = sic_owner_acl(sstorage->owner, name, folder, identifier, &error);
	if (text == NULL) {
		imap.client_send_tagline(cmd, sic_error_tagline(&error, mailbox));
		sic_error_clear(&error);
		return TRUE;
	}
	line = t_str_new(128);
	str_printfa(line, "* %s ", response);
	imap_append_astring(line, orig_mailbox);
	if (*text != '\0')
		str_printfa(line, " %s", text);
	sic_string_free(text);
	imap.client_send_line(cmd->client, str_c(line));
	imap.client_send_tagline(cmd, t_strdup_printf("OK %s completed.", name));
	return TRUE;
}

static bool sic_cmd_myrights(struct client_command_context *cmd)
{
	return sic_cmd_acl(cmd, "MYRIGHTS", "MYRIGHTS", FALSE);
}

static bool sic_cmd_getacl(struct client_command_context *cmd)
{
	return sic_cmd_acl(cmd, "GETACL", "ACL", FALSE);
}

static bool sic_cmd_listrights(struct client_command_context *cmd)
{
	return sic_cmd_acl(cmd, "LISTRIGHTS", "LISTRIGHTS", TRUE);
}

#define SIC_IMAP_LOOKUP(name) \
	(imap.name = (__typeof__(imap.name))dlsym(RTLD_DEFAULT, #name)) != NULL

void sic_imap_commands_hook(void)
{
	struct command *command;
	unsigned int i;

	if (!(SIC_IMAP_LOOKUP(command_find) && SIC_IMAP_LOOKUP(client_read_args) &&
	      SIC_IMAP_LOOKUP(client_read_string_args) &&
	      SIC_IMAP_LOOKUP(client_send_line) &&
	      SIC_IMAP_LOOKUP(client_send_tagline) &&
	      SIC_IMAP_LOOKUP(client_send_box_error) &&
	      SIC_IMAP_LOOKUP(client_find_namespace) &&
	      SIC_IMAP_LOOKUP(imap_search_args_build) &&
	      SIC_IMAP_LOOKUP(cmd_sync)))
		return;
	/* The ACL commands exist when imap_acl is loaded (before us). */
	for (i = 0; i < N_ELEMENTS(sic_hooks); i++) {
		command = imap.command_find(sic_hooks[i].name);
		if (command == NULL)
			continue;
		sic_hooks[i].original = command->func;
		command->func = sic_hooks[i].func;
	}
}

void sic_imap_commands_unhook(void)
{
	struct command *command;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(sic_hooks); i++) {
		if (sic_hooks[i].original == NULL)
			continue;
		command = imap.command_find(sic_hooks[i].name);
		if (command != NULL && command->func == sic_hooks[i].func)
			command->func = sic_hooks[i].original;
		sic_hooks[i].original = NULL;
	}
}
