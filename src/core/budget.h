/*
 * budget.h — a byte budget shared by the threads of a child: the request
 * heads and bodies its connections hold in memory.
 *
 * A connection holds one input buffer.  Its first INPUT_INITIAL_SIZE bytes
 * are not charged (the connection cap already bounds them); a buffer that
 * grows beyond that is charged whole, and released when it is freed.  Since
 * a child parks thousands of connections, each may hold a partial head
 * while no thread runs it: without a budget, the sum of the per-connection
 * limits is what an attacker can make a child hold.
 *
 * Contract:
 *  - budget_charge() succeeds at once while the total stays within the
 *    limit.  Past it, it calls the reclaim hook, which may free memory held
 *    by others (the child cuts the parked connections that hold the most
 *    for the longest; they release their charge before the hook returns),
 *    then tries once more.  It fails, charging nothing, when the hook could
 *    not make room: the caller refuses the growth.  The asking caller is
 *    never what the hook cuts (it is running, not parked).
 *  - limit 0 means no budget: every charge succeeds (the total is still
 *    kept, for the status page and tests).
 *  - Thread-safe: the total is an atomic; the hook does its own locking and
 *    is called without any lock of ours held.
 */
#ifndef WEFT_BUDGET_H
#define WEFT_BUDGET_H

#include <stdatomic.h>
#include "common.h"

/* Tries to free at least `wanted` bytes of the budget; returns how many it
 * freed (0: nothing could be). */
typedef size_t (*budget_reclaim_hook)(void *context, size_t wanted);

typedef struct memory_budget {
    _Atomic int64_t used;
    int64_t limit;                 /* bytes; 0 = unlimited */
    budget_reclaim_hook reclaim;   /* NULL: nothing can be reclaimed */
    void *reclaim_context;
    _Atomic uint64_t refused;      /* charges that failed */
} memory_budget;

void budget_init(memory_budget *budget, int64_t limit, budget_reclaim_hook reclaim, void *context);
/* Charges bytes; false (nothing charged) if they do not fit even after
 * reclaiming.  A NULL budget accepts everything. */
bool budget_charge(memory_budget *budget, size_t bytes);
void budget_release(memory_budget *budget, size_t bytes);
int64_t budget_used(const memory_budget *budget);

#endif
