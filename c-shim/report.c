/* Errors of the Rust core as Dovecot storage errors: used by the storage
   and by the imap plugin, so it is built into both modules. */
#include "shim.h"
#include "storage.h"

enum mail_error sic_mail_error(int kind)
{
	switch (kind) {
	case SIC_ERR_UNAVAILABLE:
		return MAIL_ERROR_UNAVAILABLE;
	case SIC_ERR_NOTFOUND:
		return MAIL_ERROR_NOTFOUND;
	case SIC_ERR_PERM:
		return MAIL_ERROR_PERM;
	case SIC_ERR_NOTPOSSIBLE:
		return MAIL_ERROR_NOTPOSSIBLE;
	case SIC_ERR_PARAMS:
		return MAIL_ERROR_PARAMS;
	case SIC_ERR_EXPUNGED:
		return MAIL_ERROR_EXPUNGED;
	case SIC_ERR_EXISTS:
		return MAIL_ERROR_EXISTS;
	default:
		return MAIL_ERROR_TEMP;
	}
}

bool sic_error_is_temporary(const struct sic_error *error)
{
	return error->kind == SIC_ERR_TEMP || error->kind == SIC_ERR_UNAVAILABLE;
}

void sic_storage_report(struct mail_storage *storage, struct sic_error *error)
{
	const char *message = error->message != NULL ? error->message :
		"shared_imapc: unknown error";

	mail_storage_set_error(storage, sic_mail_error(error->kind), message);
	/* A remote that fails is the administrator's business; a folder the
	   user may not see is not. */
	if (error->detail != NULL && sic_error_is_temporary(error)) {
		e_warning(storage->event, "shared_imapc: %s (%s)",
			  message, error->detail);
	} else if (error->detail != NULL) {
		e_debug(storage->event, "shared_imapc: %s (%s)",
			message, error->detail);
	}
	sic_error_clear(error);
}

void sic_mailbox_report(struct mailbox *box, struct sic_error *error)
{
	int kind = error->kind;

	sic_storage_report(box->storage, error);
	/* Dovecot's own wording, naming the folder as the user knows it. */
	if (kind == SIC_ERR_NOTFOUND) {
		mail_storage_set_error(box->storage, MAIL_ERROR_NOTFOUND,
				       T_MAIL_ERR_MAILBOX_NOT_FOUND(box->vname));
	}
}
