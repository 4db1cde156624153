/*
 * docs/modules.md's skeleton module compiles: the block between the
 * "skeleton begin" and "skeleton end" markers is written to a temporary file
 * and given to the C compiler with the project's warning flags, as if it sat
 * in src/modules (-iquote makes its "../core/..." includes resolve there).
 * Run from the top of the tree, as `make unit-test` does.
 */
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *read_file(const char *path)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return NULL;
    static char text[65536];
    size_t length = fread(text, 1, sizeof(text) - 1, file);
    fclose(file);
    text[length] = '\0';
    return text;
}

/* The code inside the ```c fence between the markers, or NULL. */
static char *extract_skeleton(char *text)
{
    char *begin = strstr(text, "<!-- skeleton begin -->");
    char *end = begin ? strstr(begin, "<!-- skeleton end -->") : NULL;
    char *code = begin ? strstr(begin, "```c\n") : NULL;
    if (!code || code > end)
        return NULL;
    code += 5;
    char *fence = strstr(code, "\n```");
    if (!fence || fence > end)
        return NULL;
    fence[1] = '\0';
    return code;
}

int main(void)
{
    char *text = read_file("docs/modules.md");
    ok(text != NULL, "docs/modules.md is readable (run from the top of the tree)");
    char *code = text ? extract_skeleton(text) : NULL;
    ok(code != NULL, "it has a skeleton between the markers");
    if (!code)
        return done_testing();
    ok(strstr(code, "const module hello_module") != NULL, "the skeleton defines a module");

    char path[] = "/tmp/weft-skeleton-XXXXXX.c";
    int fd = mkstemps(path, 2);
    ok(fd >= 0, "a temporary file");
    if (fd < 0)
        return done_testing();
    size_t length = strlen(code);
    ok(write(fd, code, length) == (ssize_t)length, "the skeleton is written out");
    close(fd);
    const char *compiler = getenv("CC") ? getenv("CC") : "cc";
    char command[1024];
    snprintf(command, sizeof command,
             "%s -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes "
             "-Wmissing-prototypes -Wno-unused-parameter -iquote src/modules -fsyntax-only %s",
             compiler, path);
    int status = system(command);
    is_int(status, 0, "the skeleton compiles with the project's warnings as errors");
    unlink(path);
    return done_testing();
}
