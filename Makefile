# weft — one plain Makefile.  Everything it builds goes to build/.
#   make          build/weft, and the manuals generated from its directive tables
#   make install  PREFIX (/usr/local), DESTDIR; make uninstall (install.mk)
#   make test     unit tests (TAP) + integration tests, normal and ASan+UBSan builds, via prove
#   make asan     build/asan/weft with -fsanitize=address,undefined
#   make tsan     build/tsan/weft with -fsanitize=thread (see docs/security.md)
#   make fuzz     libFuzzer harnesses, FUZZ_SECONDS each (fuzz/fuzz.mk)
#   make run      serve www/ on http://127.0.0.1:8080/ with conf/weft.conf
#   make bench    the benchmark suite (bench/run)
#   make clean

CC       ?= cc
CFLAGS   ?= -O2 -g
WARNINGS  = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
BASEFLAGS = -std=c17 -D_GNU_SOURCE -pthread $(WARNINGS) -MMD -MP
# zlib and libbrotlienc (the DEFLATE and BROTLI_COMPRESS filters), PCRE2
# (regular expressions, as Apache), OpenSSL 3 (TLS) and libcrypt (htpasswd
# hashes: bcrypt, SHA-crypt): Debian's zlib1g-dev, libbrotli-dev,
# libpcre2-dev, libssl-dev and libcrypt-dev (the deps target below installs
# them).
LDLIBS    = -pthread -lz -lbrotlienc -lpcre2-8 -lssl -lcrypto -lcrypt
SANITIZE  = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SOURCES   := $(sort $(wildcard src/*.c src/*/*.c))
OBJECTS   := $(SOURCES:%.c=build/obj/%.o)
ASAN_OBJECTS := $(SOURCES:%.c=build/asan/obj/%.o)
TSAN_OBJECTS := $(SOURCES:%.c=build/tsan/obj/%.o)
UNIT_SOURCES := $(sort $(wildcard t/unit/*.c))
UNIT_TESTS   := $(UNIT_SOURCES:t/unit/%.c=build/t/%)
ASAN_UNIT_TESTS := $(UNIT_SOURCES:t/unit/%.c=build/asan/t/%)
STALL_SHIM   := build/t/stall_shim.so
BUILD_INFO = -DWEFT_BUILD_DATE='"$(shell date -u +'%b %e %Y %H:%M:%S' 2>/dev/null)"' \
             -DWEFT_BUILD_CFLAGS='"$(CFLAGS)"'

.PHONY: all asan tsan tsan-test test unit-test integration-test run bench clean limit deps

all: build/weft man

# The development headers of the libraries weft links: installed when make
# runs as root on Debian, else the one command to run is printed.
DEPS_STAMP = build/.deps-ok
deps: $(DEPS_STAMP)
$(DEPS_STAMP):
	@missing=; \
	[ -f /usr/include/zlib.h ] || missing="$$missing zlib1g-dev"; \
	[ -f /usr/include/brotli/encode.h ] || missing="$$missing libbrotli-dev"; \
	[ -f /usr/include/pcre2.h ] || missing="$$missing libpcre2-dev"; \
	[ -f /usr/include/openssl/ssl.h ] || missing="$$missing libssl-dev"; \
	[ -f /usr/include/crypt.h ] || missing="$$missing libcrypt-dev"; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	        echo "weft: installing$$missing"; \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing || exit 1; \
	    else \
	        echo "weft needs$$missing; run: sudo apt-get install -y zlib1g-dev libbrotli-dev libpcre2-dev libssl-dev libcrypt-dev" >&2; exit 1; \
	    fi; \
	fi
	@mkdir -p $(dir $@) && touch $@

build/weft: $(OBJECTS)
	$(CC) $(CFLAGS) $(BASEFLAGS) -o $@ $(OBJECTS) $(LDLIBS)

build/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BASEFLAGS) $(BUILD_INFO) -c -o $@ $<

asan: build/asan/weft

build/asan/weft: $(ASAN_OBJECTS)
	$(CC) -O1 -g $(BASEFLAGS) $(SANITIZE) -o $@ $(ASAN_OBJECTS) $(LDLIBS)

build/asan/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(BASEFLAGS) $(SANITIZE) $(BUILD_INFO) -c -o $@ $<

tsan: build/tsan/weft

build/tsan/weft: $(TSAN_OBJECTS)
	$(CC) -O1 -g $(BASEFLAGS) -fsanitize=thread -o $@ $(TSAN_OBJECTS) $(LDLIBS)

build/tsan/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(BASEFLAGS) -fsanitize=thread $(BUILD_INFO) -c -o $@ $<

# The threaded paths under ThreadSanitizer (t/tsan.supp explains each
# suppression); TSan is slower than ASan, hence the larger time scale.
TSAN_TESTS ?= t/10-basic-http.t t/13-keepalive.t t/22-mpm-crash.t t/23-mpm-graceful.t \
              t/25-mpm-signals.t t/45-slow-clients.t t/70-smuggling.t t/72-hostile.t \
              t/73-privileges.t t/47-file-cache.t t/34-cgi-load.t t/15-accept-filter.t \
              t/77-stalled-threads.t t/80-deflate.t t/86-setenvif.t t/89-multiviews.t \
              t/55-auth-basic.t
tsan-test: build/tsan/weft $(STALL_SHIM)
	WEFT_BINARY=build/tsan/weft WEFT_TIMEOUT_SCALE=3 \
	TSAN_OPTIONS="suppressions=$(CURDIR)/t/tsan.supp second_deadlock_stack=1" prove -I t/lib $(TSAN_TESTS)

# The fault-injection library of t/77-stalled-threads.t (LD_PRELOAD).
$(STALL_SHIM): t/lib/stall_shim.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -fPIC -shared -o $@ $< -ldl

# Unit tests #include the .c files they test, so each builds on its own.
build/t/%: t/unit/%.c t/unit/tap.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BASEFLAGS) -Isrc -o $@ $< $(LDLIBS)

build/asan/t/%: t/unit/%.c t/unit/tap.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(BASEFLAGS) $(SANITIZE) -Isrc -o $@ $< $(LDLIBS)

# The compression test decompresses what it compressed.
build/t/compress build/asan/t/compress: LDLIBS += -lbrotlidec

unit-test: $(UNIT_TESTS) $(ASAN_UNIT_TESTS)
	prove $(UNIT_TESTS) $(ASAN_UNIT_TESTS)

# Integration tests run twice: against build/weft and against the
# sanitizer build (WEFT_BINARY tells the harness which).
integration-test: build/weft build/asan/weft $(STALL_SHIM)
	prove -I t/lib t/*.t
	WEFT_BINARY=build/asan/weft prove -I t/lib t/*.t

test: $(UNIT_TESTS) $(ASAN_UNIT_TESTS) build/weft build/asan/weft $(STALL_SHIM)
	prove $(UNIT_TESTS) $(ASAN_UNIT_TESTS) :: && \
	prove -I t/lib t/*.t && \
	WEFT_BINARY=build/asan/weft ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 prove -I t/lib t/*.t

run: build/weft
	@mkdir -p logs
	@echo "weft: serving $(CURDIR)/www on http://127.0.0.1:8080/ (Ctrl-C stops)"
	build/weft -d $(CURDIR) -f conf/weft.conf -D FOREGROUND

bench: build/weft
	bench/run

clean:
	rm -rf build

include fuzz/fuzz.mk
include install.mk

-include $(OBJECTS:.o=.d) $(ASAN_OBJECTS:.o=.d) $(TSAN_OBJECTS:.o=.d) $(UNIT_TESTS:=.d) $(ASAN_UNIT_TESTS:=.d)
