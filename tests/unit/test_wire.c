/* test_wire.c — the bounds-checked cursor of wire.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "wire.h"

static const uint8_t sample[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};

static void test_read_in_bounds(void **state)
{
	struct wire w = wire_reader(sample, sizeof(sample));

	assert_true(wire_ok(&w));
	assert_int_equal(wire_left(&w), 9);
	assert_int_equal(wire_u8(&w), 0x01);
	assert_int_equal(wire_u16(&w), 0x0203);
	assert_int_equal(wire_u32(&w), 0x04050607);
	assert_int_equal(wire_pos(&w), 7);
	assert_int_equal(wire_left(&w), 2);
	assert_int_equal(wire_u16(&w), 0x0809);
	assert_int_equal(wire_left(&w), 0);
	assert_true(wire_ok(&w)); /* reading exactly to the end is fine */
}

static void test_u32_high_bit(void **state)
{
	const uint8_t b[] = {0xff, 0xfe, 0x80, 0x01, 0xc0, 0xa8};
	struct wire w = wire_reader(b, sizeof(b));

	/* the top byte goes through uint32_t: no sign extension */
	assert_int_equal(wire_u32(&w), 0xfffe8001u);
	assert_int_equal(wire_u16(&w), 0xc0a8);
	assert_true(wire_ok(&w));
}

static void test_past_end_zero_and_sticky(void **state)
{
	struct wire w = wire_reader(sample, 3);
	uint8_t dst[4] = {0xaa, 0xaa, 0xaa, 0xaa};

	assert_int_equal(wire_u16(&w), 0x0102);
	/* a u32 needs 4, 1 left: zero, error, position unchanged */
	assert_int_equal(wire_u32(&w), 0);
	assert_false(wire_ok(&w));
	assert_int_equal(wire_pos(&w), 2);
	assert_int_equal(wire_left(&w), 0);
	/* sticky: even a read that would fit now fails */
	assert_int_equal(wire_u8(&w), 0);
	assert_false(wire_ok(&w));
	wire_copy(&w, dst, sizeof(dst));
	assert_memory_equal(dst, ((uint8_t[4]){0, 0, 0, 0}), 4);
	assert_null(wire_take(&w, 0));
}

static void test_u16_straddles_end(void **state)
{
	struct wire w = wire_reader(sample, 1);

	assert_int_equal(wire_u16(&w), 0);
	assert_false(wire_ok(&w));
}

static void test_empty_buffer(void **state)
{
	struct wire w = wire_reader(sample, 0);

	assert_int_equal(wire_left(&w), 0);
	assert_ptr_equal(wire_take(&w, 0), sample); /* taking nothing is no error */
	assert_true(wire_ok(&w));
	assert_int_equal(wire_u8(&w), 0);
	assert_false(wire_ok(&w));
}

static void test_take_huge_length(void **state)
{
	struct wire w = wire_reader(sample, sizeof(sample));

	wire_skip(&w, 4);
	/* n near SIZE_MAX must not wrap around the bounds check */
	assert_null(wire_take(&w, SIZE_MAX));
	assert_false(wire_ok(&w));
	assert_int_equal(wire_pos(&w), 4);
}

static void test_copy_and_skip(void **state)
{
	struct wire w = wire_reader(sample, sizeof(sample));
	uint8_t dst[3];

	wire_skip(&w, 2);
	wire_copy(&w, dst, sizeof(dst));
	assert_memory_equal(dst, sample + 2, 3);
	wire_skip(&w, 4);
	assert_true(wire_ok(&w));
	assert_int_equal(wire_left(&w), 0);
	wire_skip(&w, 1);
	assert_false(wire_ok(&w));
}

static void test_sub_cursor(void **state)
{
	struct wire w = wire_reader(sample, sizeof(sample));
	struct wire s;

	wire_skip(&w, 1);
	s = wire_sub(&w, 4);
	assert_true(wire_ok(&w));
	assert_int_equal(wire_pos(&w), 5); /* the parent moved past the sub-range */
	assert_int_equal(wire_left(&s), 4);
	assert_int_equal(wire_u16(&s), 0x0203);
	assert_int_equal(wire_u16(&s), 0x0405);
	/* the sub-cursor ends at its own end, not the parent's */
	assert_int_equal(wire_u8(&s), 0);
	assert_false(wire_ok(&s));
	assert_true(wire_ok(&w)); /* an error inside does not reach the parent */
	assert_int_equal(wire_u8(&w), 0x06);
}

static void test_sub_cursor_too_long(void **state)
{
	struct wire w = wire_reader(sample, sizeof(sample));
	struct wire s;

	wire_skip(&w, 6);
	s = wire_sub(&w, 4); /* 3 left */
	assert_false(wire_ok(&w));
	assert_false(wire_ok(&s));
	assert_int_equal(wire_left(&s), 0);
	assert_int_equal(wire_u8(&s), 0);
	assert_int_equal(wire_pos(&w), 6);
}

static void test_sub_of_failed_parent(void **state)
{
	struct wire w = wire_reader(sample, 2);
	struct wire s;

	(void)wire_u32(&w);
	s = wire_sub(&w, 0); /* even an empty sub-range inherits the failure */
	assert_false(wire_ok(&s));
}

static void test_writers(void **state)
{
	uint8_t buf[11];
	struct wire w = wire_writer(buf, sizeof(buf));
	const uint8_t want[] = {0x7f, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 'a', 'b', 'c', 0x00};

	wire_put_u8(&w, 0x7f);
	wire_put_u16(&w, 0x1234);
	wire_put_u32(&w, 0xdeadbeefu);
	wire_put_bytes(&w, "abc", 3);
	wire_put_bytes(&w, NULL, 0);
	wire_put_u8(&w, 0);
	assert_true(wire_ok(&w));
	assert_int_equal(wire_pos(&w), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

static void test_writer_full(void **state)
{
	uint8_t buf[8];
	struct wire w;

	memset(buf, 0xee, sizeof(buf));
	w = wire_writer(buf, 5);
	wire_put_u32(&w, 0x01020304u);
	assert_true(wire_ok(&w));
	/* one byte left: a u16 does not fit, nothing is written */
	wire_put_u16(&w, 0xaaaa);
	assert_false(wire_ok(&w));
	assert_int_equal(wire_pos(&w), 4);
	assert_int_equal(buf[4], 0xee);
	/* sticky: a byte that would fit is not written either */
	wire_put_u8(&w, 0x55);
	assert_int_equal(buf[4], 0xee);
	assert_null(wire_put_space(&w, 1));
	assert_false(wire_ok(&w));
	assert_int_equal(buf[5], 0xee); /* never past the capacity */
}

static void test_writer_bytes_too_long(void **state)
{
	uint8_t buf[4] = {0};
	struct wire w = wire_writer(buf, 3);

	wire_put_bytes(&w, "abcd", 4);
	assert_false(wire_ok(&w));
	assert_memory_equal(buf, ((uint8_t[4]){0, 0, 0, 0}), 4);
}

static void test_roundtrip_byte_order(void **state)
{
	uint8_t buf[6];
	struct wire w = wire_writer(buf, sizeof(buf));
	struct wire r;

	wire_put_u16(&w, 0x0102);
	wire_put_u32(&w, 0x0a0b0c0du);
	/* network order: most significant byte first, whatever the host */
	assert_int_equal(buf[0], 0x01);
	assert_int_equal(buf[1], 0x02);
	assert_int_equal(buf[2], 0x0a);
	assert_int_equal(buf[5], 0x0d);
	r = wire_reader(buf, wire_pos(&w));
	assert_int_equal(wire_u16(&r), 0x0102);
	assert_int_equal(wire_u32(&r), 0x0a0b0c0du);
	assert_true(wire_ok(&r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_in_bounds),
		cmocka_unit_test(test_u32_high_bit),
		cmocka_unit_test(test_past_end_zero_and_sticky),
		cmocka_unit_test(test_u16_straddles_end),
		cmocka_unit_test(test_empty_buffer),
		cmocka_unit_test(test_take_huge_length),
		cmocka_unit_test(test_copy_and_skip),
		cmocka_unit_test(test_sub_cursor),
		cmocka_unit_test(test_sub_cursor_too_long),
		cmocka_unit_test(test_sub_of_failed_parent),
		cmocka_unit_test(test_writers),
		cmocka_unit_test(test_writer_full),
		cmocka_unit_test(test_writer_bytes_too_long),
		cmocka_unit_test(test_roundtrip_byte_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
