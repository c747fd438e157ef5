/* GETQUOTAROOT and GETQUOTA for shared_imapc folders (imap_quota's
   commands otherwise): the owner's quota roots and usage, as the owner's
   server reports them. The roots are named "owner:root", as Dovecot names
   another user's roots, so a GETQUOTA of such a name asks the owner's
   server again. */
#include "imap-common.h"
#include "str.h"
#include "imap-quote.h"
#include "mail-namespace.h"
#include "imap-commands.h"
#include "storage.h"
#include "imap-plugin.h"

/* Sends the untagged lines of the owner's answer ("QUOTAROOT roots…",
   "QUOTA root (…)", one a line); a QUOTAROOT gets the mailbox's name as
   the client gave it. */
static void sic_quota_send_lines(struct client_command_context *cmd,
				 const char *mailbox, const char *text)
{
	const char *const *lines = t_strsplit(text, "\n");
	string_t *line;

	for (; *lines != NULL; lines++) {
		if (**lines == '\0')
			continue;
		line = t_str_new(128);
		str_append(line, "* ");
		if (str_begins(*lines, "QUOTAROOT")) {
			str_append(line, "QUOTAROOT ");
			imap_append_astring(line, mailbox);
			str_append(line, *lines + strlen("QUOTAROOT"));
		} else {
			str_append(line, *lines);
		}
		client_send_line(cmd->client, str_c(line));
	}
}

static void sic_quota_answer(struct client_command_context *cmd,
			     const char *name, const char *mailbox,
			     char *text, struct sic_error *error)
{
	if (text == NULL) {
		sic_imap_send_error(cmd, error, mailbox);
		return;
	}
	sic_quota_send_lines(cmd, mailbox, text);
	sic_string_free(text);
	client_send_tagline(cmd, t_strdup_printf("OK %s completed.", name));
}

bool sic_cmd_getquotaroot(struct client_command_context *cmd)
{
	struct sic_owner *owner;
	struct sic_error error;
	const char *mailbox, *orig_mailbox, *folder;
	char *text;

	if (!client_read_string_args(cmd, 1, &mailbox))
		return FALSE;
	orig_mailbox = mailbox;
	switch (sic_imap_find_folder(cmd, &mailbox, &owner, &folder)) {
	case -1:
		return TRUE;
	case 0:
		return sic_imap_call_original(cmd, "GETQUOTAROOT");
	}
	i_zero(&error);
	text = sic_owner_quota_root(owner, folder, &error);
	sic_quota_answer(cmd, "GETQUOTAROOT", orig_mailbox, text, &error);
	return TRUE;
}

/* The shared_imapc owner this session has opened folders of, by name. */
static struct sic_owner *sic_quota_find_owner(struct mail_user *user,
					      const char *username)
{
	struct mail_namespace *ns;
	struct sic_owner *owner;
	const char *folder;

	for (ns = user->namespaces; ns != NULL; ns = ns->next) {
		if (ns->owner == NULL ||
		    strcmp(ns->owner->username, username) != 0 ||
		    !sic_imap_shared_folder(ns, "", &owner, &folder))
			continue;
		if (owner != NULL)
			return owner;
	}
	return NULL;
}

bool sic_cmd_getquota(struct client_command_context *cmd)
{
	struct sic_owner *owner = NULL;
	struct sic_error error;
	const char *root, *separator;
	char *text;

	if (!client_read_string_args(cmd, 1, &root))
		return FALSE;
	separator = strchr(root, ':');
	if (separator != NULL) {
		owner = sic_quota_find_owner(cmd->client->user,
					     t_strdup_until(root, separator));
	}
	if (owner == NULL)
		return sic_imap_call_original(cmd, "GETQUOTA");
	i_zero(&error);
	text = sic_owner_quota(owner, separator + 1, &error);
	sic_quota_answer(cmd, "GETQUOTA", root, text, &error);
	return TRUE;
}
