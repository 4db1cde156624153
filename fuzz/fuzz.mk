# fuzz/fuzz.mk — libFuzzer harnesses (included by the Makefile).
#   make fuzz          each harness for FUZZ_SECONDS (default 60), one after the other
#   make fuzz-smoke    the same with FUZZ_JOBS harnesses at a time, for CI
#   make fuzz-regress  each harness over its committed corpus only (seconds)
# Built with clang (Debian: clang-14, libclang-rt-14-dev) and
# -fsanitize=fuzzer,address,undefined.  New inputs found while fuzzing go to
# build/fuzz/corpus/NAME (the committed seeds in fuzz/corpus/NAME are only
# read); crashes to build/fuzz/artifacts/.  fuzz/run has the details.

FUZZ_CC      ?= $(shell command -v clang-14 2>/dev/null || command -v clang 2>/dev/null || echo clang)
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 2
FUZZ_SANITIZE = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_FLAGS    = -O1 -g -std=c17 -D_GNU_SOURCE -pthread -Wall -Wextra -Wno-unused-parameter $(FUZZ_SANITIZE)
FUZZ_NAMES   := request chunked uri range config proxy_protocol
FUZZ_BINARIES := $(FUZZ_NAMES:%=build/fuzz/fuzz_%)
# The config harness links the whole server but main.c (every module's
# directive table is part of what it fuzzes).
FUZZ_OBJECTS := $(filter-out build/fuzz/obj/src/main.o,$(SOURCES:%.c=build/fuzz/obj/%.o))

.PHONY: fuzz fuzz-smoke fuzz-regress fuzz-build

fuzz-build: $(FUZZ_BINARIES)

build/fuzz/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(BUILD_INFO) -MMD -MP -c -o $@ $<

build/fuzz/fuzz_config: fuzz/fuzz_config.c $(FUZZ_OBJECTS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -Isrc -o $@ $< $(FUZZ_OBJECTS) $(LDLIBS)

# The other harnesses #include the .c files they test, as unit tests do.
build/fuzz/fuzz_%: fuzz/fuzz_%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -Isrc -MMD -MP -o $@ $< -pthread

fuzz: $(FUZZ_BINARIES)
	fuzz/run --seconds $(FUZZ_SECONDS) --jobs 1 $(FUZZ_NAMES)

fuzz-smoke: $(FUZZ_BINARIES)
	fuzz/run --seconds $(FUZZ_SECONDS) --jobs $(FUZZ_JOBS) $(FUZZ_NAMES)

fuzz-regress: $(FUZZ_BINARIES)
	fuzz/run --regress $(FUZZ_NAMES)

-include $(FUZZ_OBJECTS:.o=.d) $(FUZZ_BINARIES:=.d)
