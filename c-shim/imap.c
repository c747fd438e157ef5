/* The imap plugin's commands that go to the owner's server whole when they
   concern a shared_imapc folder: THREAD (the remote threads; Dovecot would
   read every message's headers), SORT (the remote's order printed as it
   is), and MYRIGHTS, GETACL, LISTRIGHTS, SETACL and DELETEACL (the owner's
   server holds the ACLs that apply, and checks the user's rights to change
   them). Other folders keep the commands they replace (imap-plugin.c). */
#include "imap-common.h"
#include "str.h"
#include "imap-arg.h"
#include "imap-quote.h"
#include "mail-search.h"
#include "imap-commands.h"
#include "imap-search-args.h"
#include "storage.h"
#include "imap-plugin.h"

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
	ret = imap_search_args_build(cmd, args + 2, charset, &sargs);
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
		client_send_box_error(cmd, box);
		return TRUE;
	}
	client_send_line(cmd->client, t_strconcat("* THREAD ", text, NULL));
	sic_string_free(text);
	return cmd_sync(cmd, MAILBOX_SYNC_FLAG_FAST |
			     (cmd->uid ? 0 : MAILBOX_SYNC_FLAG_NO_EXPUNGES),
			     0, "OK Thread completed.");
}

bool sic_cmd_thread(struct client_command_context *cmd)
{
	struct sic_mailbox *mbox = sic_selected_folder(cmd->client);
	const struct imap_arg *args;
	bool fallback, ret;

	if (mbox == NULL)
		return sic_imap_call_original(cmd, cmd->uid ? "UID THREAD" : "THREAD");
	if (!client_read_args(cmd, 0, 0, &args))
		return FALSE;
	T_BEGIN {
		ret = sic_thread_remote(cmd, mbox, args, &fallback);
	} T_END;
	return fallback ?
		sic_imap_call_original(cmd, cmd->uid ? "UID THREAD" : "THREAD") : ret;
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
	client_send_line(cmd->client, str_c(line));
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
	ret = imap_search_args_build(cmd, args + 2, charset, &sargs);
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
		client_send_box_error(cmd, box);
		return TRUE;
	}
	if (sic_search_is_sorted(result) == 0) {
		sic_search_free(result);
		return TRUE;
	}
	*fallback_r = FALSE;
	sic_sort_send(cmd, box, result);
	sic_search_free(result);
	return cmd_sync(cmd, MAILBOX_SYNC_FLAG_FAST |
			     (cmd->uid ? 0 : MAILBOX_SYNC_FLAG_NO_EXPUNGES),
			     0, "OK Sort completed.");
}

/* SORT answered by the remote whole: its order, without Dovecot walking
   every message (the search path does that when this cannot be used). */
bool sic_cmd_sort(struct client_command_context *cmd)
{
	struct sic_mailbox *mbox = sic_selected_folder(cmd->client);
	const char *name = cmd->uid ? "UID SORT" : "SORT";
	const struct imap_arg *args;
	bool fallback, ret;

	if (mbox == NULL)
		return sic_imap_call_original(cmd, name);
	if (!client_read_args(cmd, 0, 0, &args))
		return FALSE;
	T_BEGIN {
		ret = sic_sort_remote(cmd, mbox, args, &fallback);
	} T_END;
	return fallback ? sic_imap_call_original(cmd, name) : ret;
}

/* An ACL command (RFC 4314) and what its answer looks like. */
struct sic_acl_command {
	const char *name;
	/* The untagged answer's name, or NULL when it has none. */
	const char *response;
	/* The arguments after the mailbox: identifier, rights. */
	unsigned int extra_args;
};

static const struct sic_acl_command sic_acl_commands[] = {
	{ "MYRIGHTS", "MYRIGHTS", 0 },
	{ "GETACL", "ACL", 0 },
	{ "LISTRIGHTS", "LISTRIGHTS", 1 },
	{ "SETACL", NULL, 2 },
	{ "DELETEACL", NULL, 1 },
};

static bool sic_acl_read_args(struct client_command_context *cmd,
			      const struct sic_acl_command *acl,
			      const char **mailbox_r, const char **identifier_r,
			      const char **rights_r)
{
	*identifier_r = NULL;
	*rights_r = NULL;
	switch (acl->extra_args) {
	case 0:
		return client_read_string_args(cmd, 1, mailbox_r);
	case 1:
		return client_read_string_args(cmd, 2, mailbox_r, identifier_r);
	default:
		return client_read_string_args(cmd, 3, mailbox_r, identifier_r,
					       rights_r);
	}
}

static void sic_acl_send_answer(struct client_command_context *cmd,
				const struct sic_acl_command *acl,
				const char *mailbox, const char *text)
{
	string_t *line;

	if (acl->response != NULL) {
		line = t_str_new(128);
		str_printfa(line, "* %s ", acl->response);
		imap_append_astring(line, mailbox);
		if (*text != '\0')
			str_printfa(line, " %s", text);
		client_send_line(cmd->client, str_c(line));
	}
	client_send_tagline(cmd, t_strdup_printf("OK %s completed.", acl->name));
}

/* An ACL command answered, and for SETACL and DELETEACL carried out, by
   the owner's server with the user's rights there. */
static bool sic_cmd_acl(struct client_command_context *cmd,
			const struct sic_acl_command *acl)
{
	struct sic_owner *owner;
	struct sic_error error;
	const char *mailbox, *orig_mailbox, *identifier, *rights, *folder;
	char *text;

	if (!sic_acl_read_args(cmd, acl, &mailbox, &identifier, &rights))
		return FALSE;
	orig_mailbox = mailbox;
	switch (sic_imap_find_folder(cmd, &mailbox, &owner, &folder)) {
	case -1:
		return TRUE;
	case 0:
		return sic_imap_call_original(cmd, acl->name);
	}
	i_zero(&error);
	text = sic_owner_acl(owner, acl->name, folder, identifier, rights,
			     &error);
	if (text == NULL) {
		sic_imap_send_error(cmd, &error, mailbox);
		return TRUE;
	}
	sic_acl_send_answer(cmd, acl, orig_mailbox, text);
	sic_string_free(text);
	return TRUE;
}

#define SIC_ACL_COMMAND(func, index) \
	bool func(struct client_command_context *cmd) \
	{ \
		return sic_cmd_acl(cmd, &sic_acl_commands[index]); \
	}

SIC_ACL_COMMAND(sic_cmd_myrights, 0)
SIC_ACL_COMMAND(sic_cmd_getacl, 1)
SIC_ACL_COMMAND(sic_cmd_listrights, 2)
SIC_ACL_COMMAND(sic_cmd_setacl, 3)
SIC_ACL_COMMAND(sic_cmd_deleteacl, 4)
