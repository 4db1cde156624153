/* Unit tests for src/core/budget.c: charges within the limit, the reclaim
 * hook asked for at least the overshoot when the limit would be passed, a
 * refusal (nothing charged) when it frees nothing, no budget at all (limit
 * 0, or a NULL budget), and parallel charges never overshooting. */
#include "tap.h"

#include <pthread.h>

#include "../../src/core/budget.c"

/* A stand-in for the child: holds `held` bytes it can give back. */
typedef struct {
    memory_budget *budget;
    size_t held;
    size_t last_wanted;
    int calls;
} holder;

static size_t give_back(void *context, size_t wanted)
{
    holder *h = context;
    h->calls++;
    h->last_wanted = wanted;
    size_t freed = h->held;
    budget_release(h->budget, freed);
    h->held = 0;
    return freed;
}

static void test_charges(void)
{
    memory_budget budget;
    holder h = { .budget = &budget };
    budget_init(&budget, 100000, give_back, &h);
    ok(budget_charge(&budget, 60000), "a charge within the limit succeeds");
    h.held = 60000;
    ok(budget_charge(&budget, 40000), "up to the limit exactly");
    is_int(h.calls, 0, "no reclaim while within the limit");
    is_int((int)budget_used(&budget), 100000, "the total is kept");
    ok(budget_charge(&budget, 30000), "past the limit: the hook makes room");
    is_int(h.calls, 1, "the hook was called once");
    ok(h.last_wanted >= 30000, "asked for at least the overshoot (%zu)", h.last_wanted);
    is_int((int)budget_used(&budget), 70000, "the freed bytes left, the new ones came in");
    ok(!budget_charge(&budget, 40000), "nothing more to reclaim: refused");
    is_int((int)budget_used(&budget), 70000, "a refusal charges nothing");
    is_int((int)atomic_load(&budget.refused), 1, "refusals are counted");
    budget_release(&budget, 70000);
    is_int((int)budget_used(&budget), 0, "releases bring it back to 0");
}

static void test_no_budget(void)
{
    memory_budget budget;
    budget_init(&budget, 0, NULL, NULL);
    ok(budget_charge(&budget, (size_t)1 << 40), "limit 0: everything is accepted");
    is_int((int)(budget_used(&budget) >> 30), 1024, "and still counted");
    ok(budget_charge(NULL, 12345), "a NULL budget accepts");
    budget_release(NULL, 12345);
    ok(budget_used(NULL) == 0, "a NULL budget holds nothing");

    budget_init(&budget, 1000, NULL, NULL);
    ok(!budget_charge(&budget, 1001), "no hook: a charge past the limit is refused");
    ok(budget_charge(&budget, 0), "a charge of nothing always succeeds");
}

static memory_budget shared;

static void *charge_many(void *unused)
{
    (void)unused;
    for (int i = 0; i < 100000; i++) {
        if (budget_charge(&shared, 4096)) {
            if (budget_used(&shared) > shared.limit)
                return (void *)1;
            budget_release(&shared, 4096);
        }
    }
    return NULL;
}

static void test_parallel(void)
{
    budget_init(&shared, 40960, NULL, NULL);
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, charge_many, NULL);
    int overshoots = 0;
    for (int i = 0; i < 4; i++) {
        void *result;
        pthread_join(threads[i], &result);
        overshoots += result != NULL;
    }
    is_int(overshoots, 0, "parallel charges never take the total past the limit");
    is_int((int)budget_used(&shared), 0, "and balance out");
}

int main(void)
{
    test_charges();
    test_no_budget();
    test_parallel();
    return done_testing();
}
