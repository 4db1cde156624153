/*
 * budget.c — the child-wide byte budget for buffered requests (budget.h).
 */
#include "budget.h"

void budget_init(memory_budget *budget, int64_t limit, budget_reclaim_hook reclaim, void *context)
{
    atomic_store(&budget->used, 0);
    atomic_store(&budget->refused, 0);
    budget->limit = limit > 0 ? limit : 0;
    budget->reclaim = reclaim;
    budget->reclaim_context = context;
}

/* Adds bytes if the total stays within the limit. */
static bool try_add(memory_budget *budget, int64_t bytes)
{
    int64_t used = atomic_load_explicit(&budget->used, memory_order_relaxed);
    do {
        if (used + bytes > budget->limit)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&budget->used, &used, used + bytes,
                                                    memory_order_relaxed, memory_order_relaxed));
    return true;
}

bool budget_charge(memory_budget *budget, size_t bytes)
{
    if (!budget || bytes == 0)
        return true;
    if (budget->limit == 0) {
        atomic_fetch_add_explicit(&budget->used, (int64_t)bytes, memory_order_relaxed);
        return true;
    }
    if (try_add(budget, (int64_t)bytes))
        return true;
    /* Over the limit: ask for room.  A little more than this charge is
     * asked for, so that a steady stream of growths does not call the hook
     * (and take the child's lock) for every one. */
    for (int attempt = 0; budget->reclaim && attempt < 3; attempt++) {
        int64_t used = atomic_load_explicit(&budget->used, memory_order_relaxed);
        int64_t over = used + (int64_t)bytes - budget->limit;
        int64_t slack = budget->limit / 64;
        size_t wanted = (size_t)((over > 0 ? over : 0) + slack);
        if (budget->reclaim(budget->reclaim_context, wanted) == 0)
            break;
        if (try_add(budget, (int64_t)bytes))
            return true;
    }
    atomic_fetch_add_explicit(&budget->refused, 1, memory_order_relaxed);
    return false;
}

void budget_release(memory_budget *budget, size_t bytes)
{
    if (budget && bytes)
        atomic_fetch_sub_explicit(&budget->used, (int64_t)bytes, memory_order_relaxed);
}

int64_t budget_used(const memory_budget *budget)
{
    return budget ? atomic_load_explicit(&budget->used, memory_order_relaxed) : 0;
}
