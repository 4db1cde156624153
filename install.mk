# install.mk — `make install`, `make uninstall` and `make man` (included by
# the Makefile).
#
#   make install [PREFIX=/usr/local] [DESTDIR=/stage]
#
# PREFIX=/usr installs as a distribution package would: configuration in
# /etc/weft, logs in /var/log/weft, the pid file in /run, the unit in
# /lib/systemd/system; any other prefix keeps everything under it
# (PREFIX/etc/weft, PREFIX/var/log/weft, PREFIX/var/run, PREFIX/lib/systemd).
# Each directory variable can be overridden on the command line.
#
# The installed weft.conf (from conf/weft.conf.in) names its paths relative
# to the root of the installation and leaves ServerRoot to `-d /`, so that a
# tree staged in DESTDIR can be checked with `weft -d DESTDIR -t`.  An
# existing weft.conf (or mime.types) that differs from ours is never
# overwritten: ours goes next to it as weft.conf.default.

PREFIX ?= /usr/local
DESTDIR ?=
ifeq ($(PREFIX),/usr)
SYSCONFDIR    ?= /etc
LOCALSTATEDIR ?= /var
RUNSTATEDIR   ?= /run
UNITDIR       ?= /lib/systemd/system
else
SYSCONFDIR    ?= $(PREFIX)/etc
LOCALSTATEDIR ?= $(PREFIX)/var
RUNSTATEDIR   ?= $(LOCALSTATEDIR)/run
UNITDIR       ?= $(PREFIX)/lib/systemd/system
endif
SBINDIR      ?= $(PREFIX)/sbin
DATADIR      ?= $(PREFIX)/share
MANDIR       ?= $(DATADIR)/man
DOCDIR       ?= $(DATADIR)/doc/weft
CONFDIR      ?= $(SYSCONFDIR)/weft
LOGDIR       ?= $(LOCALSTATEDIR)/log/weft
WWWDIR       ?= $(LOCALSTATEDIR)/www/weft
LOGROTATEDIR ?= $(SYSCONFDIR)/logrotate.d
WEFT_USER    ?= www-data
WEFT_GROUP   ?= www-data
INSTALL      ?= install
# What gets installed as sbin/weft (tests install the binary they test), and
# where the files with this layout's paths are made (tests use their own).
INSTALL_BINARY ?= build/weft
INSTALL_BUILD  ?= build/install

# Paths as the installed weft.conf writes them: relative to the root.
relative = $(patsubst /%,%,$(1))

# contrib/ files name PREFIX=/usr paths; these rewrite them for any layout.
INSTALL_SED = -e 's|/usr/sbin/weft|$(SBINDIR)/weft|g' \
              -e 's|/etc/weft/|$(CONFDIR)/|g' \
              -e 's|/run/weft.pid|$(RUNSTATEDIR)/weft.pid|g' \
              -e 's|/var/log/weft/|$(LOGDIR)/|g'
CONF_SED = -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@CONFDIR@|$(CONFDIR)|g' \
           -e 's|@CONFDIR_REL@|$(call relative,$(CONFDIR))|g' \
           -e 's|@LOGDIR_REL@|$(call relative,$(LOGDIR))|g' \
           -e 's|@WWWDIR_REL@|$(call relative,$(WWWDIR))|g' \
           -e 's|@RUNDIR_REL@|$(call relative,$(RUNSTATEDIR))|g' \
           -e 's|@LOGROTATEDIR@|$(LOGROTATEDIR)|g' \
           -e 's|@USER@|$(WEFT_USER)|g' -e 's|@GROUP@|$(WEFT_GROUP)|g'

INSTALL_FILES = $(INSTALL_BUILD)/weft.conf $(INSTALL_BUILD)/weft.service $(INSTALL_BUILD)/weft-forking.service \
                $(INSTALL_BUILD)/weft.logrotate $(INSTALL_BUILD)/weft.socket

.PHONY: man install uninstall FORCE
FORCE:

# ---- manuals: generated from the directive tables --------------------------

MANUAL_INPUTS = build/directives.tsv man/weft.conf.5.in man/directive-notes.txt tools/render-manual

man: man/weft.conf.5 docs/directives.md

build/directives.tsv: build/weft
	build/weft -D DUMP_DIRECTIVES > $@.tmp && mv $@.tmp $@

man/weft.conf.5: $(MANUAL_INPUTS)
	perl tools/render-manual roff $(MANUAL_INPUTS:tools/render-manual=) > $@.tmp && mv $@.tmp $@

docs/directives.md: $(MANUAL_INPUTS)
	perl tools/render-manual markdown $(MANUAL_INPUTS:tools/render-manual=) > $@.tmp && mv $@.tmp $@

# ---- the files install writes, with this layout's paths ----------------------

# Rebuilt whenever the layout variables change (the stamp holds them).
$(INSTALL_BUILD)/layout: FORCE
	@mkdir -p $(dir $@)
	@echo '$(PREFIX) $(SBINDIR) $(CONFDIR) $(LOGDIR) $(WWWDIR) $(RUNSTATEDIR) $(LOGROTATEDIR) $(WEFT_USER) $(WEFT_GROUP)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(INSTALL_BUILD)/weft.conf: conf/weft.conf.in $(INSTALL_BUILD)/layout
	sed $(CONF_SED) conf/weft.conf.in > $@

$(INSTALL_BUILD)/%: contrib/% $(INSTALL_BUILD)/layout
	sed $(INSTALL_SED) $< > $@

# An existing file that differs from ours is kept; ours goes next to it.
define install_config
	if [ -e $(2) ] && ! cmp -s $(1) $(2); then \
	    $(INSTALL) -m 0644 $(1) $(2).default; \
	    echo "weft: kept the existing $(2); the new one is $(2).default"; \
	else \
	    $(INSTALL) -m 0644 $(1) $(2); \
	fi
endef

install: $(INSTALL_BINARY) man $(INSTALL_FILES)
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(CONFDIR) $(DESTDIR)$(CONFDIR)/conf.d \
	    $(DESTDIR)$(WWWDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(LOGROTATEDIR) $(DESTDIR)$(DOCDIR)
	$(INSTALL) -d -m 0750 $(DESTDIR)$(LOGDIR)
	if [ "$(RUNSTATEDIR)" != /run ]; then $(INSTALL) -d $(DESTDIR)$(RUNSTATEDIR); fi
	$(INSTALL) -m 0755 $(INSTALL_BINARY) $(DESTDIR)$(SBINDIR)/weft
	@$(call install_config,$(INSTALL_BUILD)/weft.conf,$(DESTDIR)$(CONFDIR)/weft.conf)
	@$(call install_config,conf/mime.types,$(DESTDIR)$(CONFDIR)/mime.types)
	if [ ! -e $(DESTDIR)$(WWWDIR)/index.html ]; then \
	    $(INSTALL) -m 0644 contrib/index.html $(DESTDIR)$(WWWDIR)/index.html; fi
	$(INSTALL) -m 0644 man/weft.8 $(DESTDIR)$(MANDIR)/man8/weft.8
	$(INSTALL) -m 0644 man/weft.conf.5 $(DESTDIR)$(MANDIR)/man5/weft.conf.5
	$(INSTALL) -m 0644 $(INSTALL_BUILD)/weft.service $(DESTDIR)$(UNITDIR)/weft.service
	$(INSTALL) -m 0644 $(INSTALL_BUILD)/weft.logrotate $(DESTDIR)$(LOGROTATEDIR)/weft
	$(INSTALL) -m 0644 $(INSTALL_BUILD)/weft-forking.service $(INSTALL_BUILD)/weft.socket $(wildcard docs/*.md) \
	    $(DESTDIR)$(DOCDIR)/

# Removes what install wrote, except a weft.conf or mime.types someone
# changed, the logs, and a site put in the DocumentRoot.
uninstall: $(INSTALL_BUILD)/weft.conf
	rm -f $(DESTDIR)$(SBINDIR)/weft $(DESTDIR)$(MANDIR)/man8/weft.8 $(DESTDIR)$(MANDIR)/man5/weft.conf.5 \
	    $(DESTDIR)$(UNITDIR)/weft.service $(DESTDIR)$(LOGROTATEDIR)/weft \
	    $(DESTDIR)$(CONFDIR)/weft.conf.default $(DESTDIR)$(CONFDIR)/mime.types.default
	rm -rf $(DESTDIR)$(DOCDIR)
	cmp -s $(INSTALL_BUILD)/weft.conf $(DESTDIR)$(CONFDIR)/weft.conf && rm -f $(DESTDIR)$(CONFDIR)/weft.conf || true
	cmp -s conf/mime.types $(DESTDIR)$(CONFDIR)/mime.types && rm -f $(DESTDIR)$(CONFDIR)/mime.types || true
	cmp -s contrib/index.html $(DESTDIR)$(WWWDIR)/index.html && rm -f $(DESTDIR)$(WWWDIR)/index.html || true
	-rmdir $(DESTDIR)$(CONFDIR)/conf.d $(DESTDIR)$(CONFDIR) $(DESTDIR)$(WWWDIR) $(DESTDIR)$(LOGDIR) 2>/dev/null
