/*
 * date.c — HTTP-date (RFC 9110 5.6.7): formatting, parsing and the cached
 * Date value.
 *
 * Calendar arithmetic is done here with integers instead of gmtime_r/timegm:
 * it cannot depend on the TZ environment, takes no lock, and parsing and
 * formatting stay exact inverses of each other.
 */
#include "response.h"

#include <string.h>
#include <time.h>

static const char *const short_day_names[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const long_day_names[7] = { "Sunday", "Monday", "Tuesday", "Wednesday",
                                               "Thursday", "Friday", "Saturday" };
static const char *const month_names[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

#define SECONDS_PER_DAY 86400
/* 9999-12-31 23:59:59 UTC: the last second a four-digit year can show. */
#define LATEST_FORMATTABLE ((time_t)253402300799)

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), valid for any year this code can meet. */
static int64_t days_from_civil(int64_t year, int month, int day)
{
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

static void civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t day_of_era = days - era * 146097;
    int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_index = (5 * day_of_year + 2) / 153;
    *day = (int)(day_of_year - (153 * month_index + 2) / 5 + 1);
    *month = (int)(month_index < 10 ? month_index + 3 : month_index - 9);
    *year = year_of_era + era * 400 + (*month <= 2);
}

static bool is_leap_year(int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int64_t year, int month)
{
    static const int lengths[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return month == 2 && is_leap_year(year) ? 29 : lengths[month - 1];
}

static void put_two_digits(char *out, int value)
{
    out[0] = (char)('0' + value / 10);
    out[1] = (char)('0' + value % 10);
}

size_t http_format_date(char *out, time_t when)
{
    /* Clamped so the result always has the fixed length the grammar wants
     * (a file with a bogus mtime must not produce a malformed header). */
    if (when < 0)
        when = 0;
    if (when > LATEST_FORMATTABLE)
        when = LATEST_FORMATTABLE;

    int64_t days = (int64_t)when / SECONDS_PER_DAY;
    int seconds_of_day = (int)((int64_t)when % SECONDS_PER_DAY);
    int64_t year;
    int month, day;
    civil_from_days(days, &year, &month, &day);
    int weekday = (int)((days + 4) % 7);   /* 1970-01-01 was a Thursday */

    /* "Sun, 06 Nov 1994 08:49:37 GMT" */
    memcpy(out, short_day_names[weekday], 3);
    memcpy(out + 3, ", ", 2);
    put_two_digits(out + 5, day);
    out[7] = ' ';
    memcpy(out + 8, month_names[month - 1], 3);
    out[11] = ' ';
    put_two_digits(out + 12, (int)(year / 100));
    put_two_digits(out + 14, (int)(year % 100));
    out[16] = ' ';
    put_two_digits(out + 17, seconds_of_day / 3600);
    out[19] = ':';
    put_two_digits(out + 20, seconds_of_day / 60 % 60);
    out[22] = ':';
    put_two_digits(out + 23, seconds_of_day % 60);
    memcpy(out + 25, " GMT", 5);   /* with the NUL */
    return 29;
}

/* --- parsing: a tiny cursor over the text, every step exact --- */

typedef struct {
    const char *at;
    bool failed;
} date_cursor;

static void expect_text(date_cursor *cursor, const char *text)
{
    size_t length = strlen(text);
    if (cursor->failed || strncmp(cursor->at, text, length) != 0) {
        cursor->failed = true;
        return;
    }
    cursor->at += length;
}

/* Exactly count digits (RFC 9110 dates have fixed-width numbers). */
static int read_digits(date_cursor *cursor, int count)
{
    int value = 0;
    for (int i = 0; i < count && !cursor->failed; i++) {
        char c = cursor->at[i];
        if (c < '0' || c > '9')
            cursor->failed = true;
        else
            value = value * 10 + (c - '0');
    }
    if (!cursor->failed)
        cursor->at += count;
    return value;
}

/* Day and month names are case-sensitive in the grammar (they are %s"..."). */
static int read_name(date_cursor *cursor, const char *const *names, int name_count)
{
    if (cursor->failed)
        return -1;
    for (int i = 0; i < name_count; i++) {
        size_t length = strlen(names[i]);
        if (strncmp(cursor->at, names[i], length) == 0) {
            cursor->at += length;
            return i;
        }
    }
    cursor->failed = true;
    return -1;
}

static void read_time_of_day(date_cursor *cursor, int *hour, int *minute, int *second)
{
    *hour = read_digits(cursor, 2);
    expect_text(cursor, ":");
    *minute = read_digits(cursor, 2);
    expect_text(cursor, ":");
    *second = read_digits(cursor, 2);
}

/* RFC 9110 5.6.7: a two-digit year that would be more than 50 years in the
 * future means the most recent past year with those last two digits. */
static int64_t expand_two_digit_year(int two_digits)
{
    int64_t current_year;
    int month, day;
    civil_from_days((int64_t)time(NULL) / SECONDS_PER_DAY, &current_year, &month, &day);
    int64_t year = current_year - current_year % 100 + two_digits;
    if (year > current_year + 50)
        year -= 100;
    return year;
}

time_t http_parse_date(const char *text)
{
    if (!text)
        return -1;
    date_cursor cursor = { text, false };
    int64_t year;
    int month, day, hour, minute, second;

    const char *comma = strchr(text, ',');
    if (comma && comma - text == 3) {
        /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
        read_name(&cursor, short_day_names, 7);
        expect_text(&cursor, ", ");
        day = read_digits(&cursor, 2);
        expect_text(&cursor, " ");
        month = read_name(&cursor, month_names, 12) + 1;
        expect_text(&cursor, " ");
        year = read_digits(&cursor, 4);
        expect_text(&cursor, " ");
        read_time_of_day(&cursor, &hour, &minute, &second);
        expect_text(&cursor, " GMT");
    } else if (comma) {
        /* rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT" */
        read_name(&cursor, long_day_names, 7);
        expect_text(&cursor, ", ");
        day = read_digits(&cursor, 2);
        expect_text(&cursor, "-");
        month = read_name(&cursor, month_names, 12) + 1;
        expect_text(&cursor, "-");
        year = read_digits(&cursor, 2);
        expect_text(&cursor, " ");
        read_time_of_day(&cursor, &hour, &minute, &second);
        expect_text(&cursor, " GMT");
        if (!cursor.failed)
            year = expand_two_digit_year((int)year);
    } else {
        /* asctime-date: "Sun Nov  6 08:49:37 1994" (day padded with a space) */
        read_name(&cursor, short_day_names, 7);
        expect_text(&cursor, " ");
        month = read_name(&cursor, month_names, 12) + 1;
        expect_text(&cursor, " ");
        if (!cursor.failed && cursor.at[0] == ' ') {
            cursor.at++;
            day = read_digits(&cursor, 1);
        } else {
            day = read_digits(&cursor, 2);
        }
        expect_text(&cursor, " ");
        read_time_of_day(&cursor, &hour, &minute, &second);
        expect_text(&cursor, " ");
        year = read_digits(&cursor, 4);
    }

    /* Nothing may follow, and every field must be in range.  The day name
     * is not checked against the date, as in Apache and nginx: a wrong one
     * is harmless and some old clients got it wrong.  Second 60 is a leap
     * second (RFC 5322 allows it) and counts as the next minute's 00. */
    if (cursor.failed || *cursor.at != '\0')
        return -1;
    if (day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 60)
        return -1;
    int64_t seconds = days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3600 +
                      minute * 60 + second;
    return (time_t)seconds;
}

const char *http_current_date(void)
{
    /* One copy per thread: no lock, and a thread's pointer stays valid until
     * that same thread asks again in a later second. */
    static _Thread_local time_t cached_second = -1;
    static _Thread_local char cached_text[30];

    time_t now = time(NULL);
    if (now != cached_second) {
        http_format_date(cached_text, now);
        cached_second = now;
    }
    return cached_text;
}
