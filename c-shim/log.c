/* Dovecot's logging macros, callable from Rust. */
#include "shim.h"

void sic_shim_log(struct event *event, enum sic_log_level level,
		  const char *msg)
{
	if (event == NULL) {
		switch (level) {
		case SIC_LOG_DEBUG: i_debug("%s", msg); break;
		case SIC_LOG_INFO: i_info("%s", msg); break;
		case SIC_LOG_WARNING: i_warning("%s", msg); break;
		case SIC_LOG_ERROR: i_error("%s", msg); break;
		}
		return;
	}
	switch (level) {
	case SIC_LOG_DEBUG: e_debug(event, "%s", msg); break;
	case SIC_LOG_INFO: e_info(event, "%s", msg); break;
	case SIC_LOG_WARNING: e_warning(event, "%s", msg); break;
	case SIC_LOG_ERROR: e_error(event, "%s", msg); break;
	}
}
