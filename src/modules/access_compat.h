/*
 * access_compat.h — mod_access_compat: Order, Allow, Deny (and core's
 * Satisfy), as Apache 2.2 configurations still carry them.
 *
 *   Order Deny,Allow | Allow,Deny | Mutual-failure
 *   Allow from all | a.b.c.d | a.b | a.b.c.d/nn | a.b.c.d/m.m.m.m | v6[/nn]
 *              | host.example.org | .example.org | env=[!]variable  ...
 *   Deny from  (the same)
 *   Satisfy All | Any
 *
 * Apache 2.4's rules: a section with any Order, Allow or Deny replaces
 * everything of them it inherits (the module has no merge function); Satisfy
 * is merged per method.  Inside <Limit>/<LimitExcept> they apply to the
 * listed methods only.  Host names are matched after a double reverse
 * lookup (the client's address to a name and back), as Apache does.
 *
 * Apache runs this check in the access_checker phase, before
 * mod_authz_core's Require: with Satisfy All (the default) both must let a
 * request in, with Satisfy Any either suffices.  authz.c's access hook
 * calls access_compat_check() first to combine them that way.
 */
#ifndef WEFT_MODULES_ACCESS_COMPAT_H
#define WEFT_MODULES_ACCESS_COMPAT_H

#include "../core/module.h"

extern const module access_compat_module;

struct request;
/* WEFT_OK if Order/Allow/Deny let the request in (also when none applies),
 * else 403; *satisfy_any: Satisfy Any applies to the request's method. */
int access_compat_check(struct request *r, bool *satisfy_any);

#endif
