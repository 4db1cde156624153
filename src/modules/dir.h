/*
 * dir.h — Apache's mod_dir as far as weft has it apart from DirectoryIndex
 * (which the core table keeps; static.c serves it): module "dir", so that
 * <IfModule dir_module> and <IfModule mod_dir.c> hold.
 *
 * Directives (dir_module):
 *   DirectorySlash On|Off       anywhere, default On.  On: a URL naming a
 *       directory without its trailing slash is answered with a 301 to the
 *       URL with it (request_self_url).  Off: no redirect, and, as Apache,
 *       no DirectoryIndex for the slash-less URL: only the listing if
 *       Options Indexes allows it, else 403.
 *   FallbackResource URL-path|disabled   anywhere.  A request that maps
 *       to no file (and has no handler of its own) is served by this local
 *       URL instead, looked up as a sub-request (request_lookup: its own
 *       sections and access checks apply), e.g. "/index.php" for a front
 *       controller.  "disabled" turns an inherited one off.
 */
#ifndef WEFT_MODULES_DIR_H
#define WEFT_MODULES_DIR_H

#include "../core/server.h"

bool dir_slash_redirects(const dir_config *dir);

#endif
