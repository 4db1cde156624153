/*
 * autoindex.h — HTML listings of directories that have no DirectoryIndex
 * file (Apache's mod_autoindex, module "autoindex").
 *
 * The static handler calls autoindex_serve_directory() when a directory
 * has no index file: the listing is built from the descriptor static.c
 * opened under the symbolic-link rules, so the directory checked is the
 * directory listed.
 *
 * Directives (autoindex_module, autoindex_config.c), as Apache 2.4's:
 *   IndexIgnore wildcard ...   names left out (fnmatch, '*' also matches a
 *                              leading dot); lines and sections add up.
 *   IndexOptions [+|-]option ...  Apache's bookkeeping (docs/migration.md):
 *                              FancyIndexing, HTMLTable, VersionSort,
 *                              IgnoreCase, FoldersFirst, Suppress*,
 *                              IconsAreLinks, IgnoreClient, NameWidth=,
 *                              DescriptionWidth=, Charset=, IconWidth,
 *                              IconHeight; the rest accepted, no effect.
 *   AddIcon, AddIconByType, AddIconByEncoding, AddAlt, AddAltByType,
 *   AddAltByEncoding, DefaultIcon, AddDescription   icons, alternative
 *                              texts and descriptions of FancyIndexing
 *                              (a section's rules before the inherited).
 *   HeaderName, ReadmeName     a text file put before / after the listing.
 *   IndexStyleSheet, IndexHeadInsert, IndexOrderDefault.
 *
 * The listing (Options Indexes must be on, else 403 as in Apache) is
 * Apache's, byte for byte where t/84 and t/83 compare: the plain <ul> list
 * without FancyIndexing, the <pre> layout with it, the table with HTMLTable;
 * sorted as the query asks (C=N|M|S|D, O=A|D, ';' or '&' between), by
 * name otherwise (strcmp, or natural order with VersionSort), directories
 * named with their '/'.
 *  - every regular file and directory, dot files included, except those
 *    matching IndexIgnore; without FollowSymLinks symbolic links are left
 *    out, with it they are listed as what they point to (dangling ones are
 *    left out); other kinds of files (FIFOs, sockets) are never listed;
 *  - names are HTML-escaped in the text and percent-encoded, then
 *    HTML-escaped, in the links (a name with ':' gets "./" in front, so it
 *    cannot be read as a URL scheme);
 *  - the ServerSignature line ends it unless a ReadmeName file does;
 *  - Content-Type: text/html;charset=UTF-8 (or Charset=), no validators.
 */
#ifndef WEFT_MODULES_AUTOINDEX_H
#define WEFT_MODULES_AUTOINDEX_H

#include "../http/request.h"

/* The listing of the directory open at directory_fd (not taken over) as
 * r's response (WEFT_OK), or 403 when Options Indexes is off, or
 * WEFT_ERROR when the directory cannot be read. */
int autoindex_serve_directory(request *r, int directory_fd, bool follow_symlinks);

#endif
