/*
 * auth_basic.h — HTTP Basic authentication: Apache's mod_auth_basic,
 * mod_authn_core, mod_authn_file, mod_authz_groupfile's group file and
 * mod_authn_socache's idea, in one module (docs/auth.md).
 *
 *   AuthType Basic|None            AuthName "realm"
 *   AuthBasicProvider file         AuthUserFile path    AuthGroupFile path
 *   AuthBasicAuthoritative On|Off  AuthnCacheTimeout seconds (300)
 *   AuthBasicFailureLimit count seconds (weft's own: 10 60)
 *
 * Apache runs authentication as a phase of its own between access control
 * by address and authorization; in weft authz.c's access hook runs the same
 * sequence (Order/Allow/Deny and Satisfy, Require without a user, then, if
 * a user could change the answer, auth_basic_authenticate(), then Require
 * with the user), so that a request Require grants without a user (an
 * address, Satisfy Any) is never asked for a password.  Require user,
 * group and valid-user are authz.c's; the group file is read here.
 */
#ifndef WEFT_MODULES_AUTH_BASIC_H
#define WEFT_MODULES_AUTH_BASIC_H

#include "../core/module.h"

extern const module auth_basic_module;

struct request;

/* The request's AuthType ("Basic"), NULL when none applies (or None). */
const char *auth_basic_type(struct request *r);

/* Apache's check_user_id: WEFT_OK with r->user set to an authenticated
 * user; 401 (with WWW-Authenticate), 429 (the address failed too often) or
 * 500 (a missing AuthName, an unreadable user file); WEFT_DECLINED when
 * AuthBasicAuthoritative Off leaves an unknown user to others (there are
 * none: the caller answers 500, as Apache). */
int auth_basic_authenticate(struct request *r);

/* text for the error log: control characters, quotes and backslashes as
 * \xNN (Apache's ap_escape_errorlog_item), so that a user name sent by a
 * client cannot forge lines (fail2ban reads them).  Allocated in p. */
const char *auth_basic_log_text(pool *p, const char *text);

/* WWW-Authenticate for a 401 (Apache's ap_note_auth_failure). */
void auth_basic_note_failure(struct request *r);

/* Is r->user in one of the groups (NULL-terminated) of AuthGroupFile?
 * WEFT_OK with *member (false when no AuthGroupFile applies: logged);
 * WEFT_ERROR when the file cannot be read. */
int auth_basic_user_in_groups(struct request *r, char *const *groups, bool *member);

#endif
