#ifndef SIC_IMAP_PLUGIN_H
#define SIC_IMAP_PLUGIN_H

/* The imap plugin module (lib95_imap_shared_imapc_plugin.so): commands
   that go to the owner's server whole for shared_imapc folders, in place
   of the imap process's own (or imap_acl's, imap_quota's) for them. */

struct client_command_context;
struct mail_namespace;
struct sic_owner;
struct sic_error;

/* The command this module took the place of, for folders that are not
   shared_imapc ones: it runs the rest of the command. */
bool sic_imap_call_original(struct client_command_context *cmd,
			    const char *name);
/* Whether mailbox (as client_find_namespace() left it) is in a
   shared_imapc namespace; then *owner_r is its owner (NULL in the owner's
   own internal namespace) and *folder_r its name below the prefix ("" for
   none). */
bool sic_imap_shared_folder(struct mail_namespace *ns, const char *mailbox,
			    struct sic_owner **owner_r, const char **folder_r);
/* The owner's folder a command names: *mailbox as the client gave it,
   left as client_find_namespace() makes it. 1 when it is a shared_imapc
   folder (*owner_r and *folder_r set), 0 when it is not (the original
   command is for it), -1 when the command is answered already (no such
   namespace, or no folder of an owner). */
int sic_imap_find_folder(struct client_command_context *cmd,
			 const char **mailbox, struct sic_owner **owner_r,
			 const char **folder_r);
/* Answers that mailbox does not exist, as Dovecot does. */
void sic_imap_send_not_found(struct client_command_context *cmd,
			     const char *mailbox);
/* Answers a failure of the owner's server (or a folder that is not there)
   with the tagged NO it calls for, and clears error. */
void sic_imap_send_error(struct client_command_context *cmd,
			 struct sic_error *error, const char *mailbox);

/* imap.c */
bool sic_cmd_thread(struct client_command_context *cmd);
bool sic_cmd_sort(struct client_command_context *cmd);
bool sic_cmd_myrights(struct client_command_context *cmd);
bool sic_cmd_getacl(struct client_command_context *cmd);
bool sic_cmd_listrights(struct client_command_context *cmd);
bool sic_cmd_setacl(struct client_command_context *cmd);
bool sic_cmd_deleteacl(struct client_command_context *cmd);

/* imap-quota.c */
bool sic_cmd_getquotaroot(struct client_command_context *cmd);
bool sic_cmd_getquota(struct client_command_context *cmd);

#endif
