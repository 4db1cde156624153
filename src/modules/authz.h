/*
 * authz.h — mod_authz_core and mod_authz_host: Require, by client address.
 *
 *   Require all granted|denied
 *   Require [not] ip 10.1.0.0/16 192.168.1.7 10.2 2001:db8::/32 10.0.0.0/255.0.0.0 ...
 *   Require [not] local             127.0.0.0/8, ::1, or the server's own address
 *   <RequireAny> ... </RequireAny>  granted when one of the requirements is
 *   <RequireAll> ... </RequireAll>  granted when none is denied and one is granted
 *   <RequireNone> ... </RequireNone> never grants; denies when one would grant
 * In <Directory>, <Files>, <Location> and their Match forms.  Several
 * Require lines in a section form an implicit <RequireAny>.  A section with
 * any Require replaces what it inherits (AuthMerging Off, the default), or
 * is combined with it (AuthMerging And: both must grant; Or: either).  "not"
 * turns granted into denied and denied into neutral, so it is refused in
 * <RequireAny> and <RequireNone> (it could never matter there), and a
 * <RequireAll> of negations only is refused too, as in Apache.  Neutral at
 * the top is a refusal: 403.  No Require anywhere: granted, at the cost of
 * one pointer test.
 *
 *   Require [not] user alice bob    the authenticated user is one of them
 *   Require [not] group admins ...  ... is in one of AuthGroupFile's groups
 *   Require valid-user              any authenticated user
 * These three need a user: without one they answer "denied, but a user
 * could change that", and the access hook then authenticates
 * (auth_basic.h) and evaluates again, as Apache does; a request granted
 * without a user is never asked for one.  Require host, forward-dns, env
 * and method are configuration errors.
 */
#ifndef WEFT_MODULES_AUTHZ_H
#define WEFT_MODULES_AUTHZ_H

#include "../core/module.h"
#include "../core/network.h"

extern const module authz_core_module;
extern const module authz_host_module;

struct request;
/* The CONFIG_METHOD_* bit (<Limit>) of the request's method. */
unsigned authz_request_method_bit(const struct request *r);

#endif
