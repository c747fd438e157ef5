#ifndef SIC_SHIM_H
#define SIC_SHIM_H

/* What the C shim offers the Rust side: the Dovecot headers bindgen reads,
   and the shim's own functions (Dovecot macros and inline functions that
   Rust cannot call directly). */

#include "lib.h"
#include "module-dir.h"
#include "mail-user.h"
#include "dict.h"

enum sic_log_level {
	SIC_LOG_DEBUG,
	SIC_LOG_INFO,
	SIC_LOG_WARNING,
	SIC_LOG_ERROR,
};

/* Register and unregister the plugin's Dovecot hooks. */
void sic_shim_init(struct module *module);
void sic_shim_deinit(void);

/* The shared_dict driver (c-shim/dict.c). */
void sic_dict_driver_register(void);
void sic_dict_driver_unregister(void);

/* Log msg through Dovecot's log, on event when not NULL. */
void sic_shim_log(struct event *event, enum sic_log_level level,
		  const char *msg);

#endif
