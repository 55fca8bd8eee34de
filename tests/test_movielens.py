"""The MovieLens loader on tiny rating files written here (MovieLens itself may not be redistributed)."""

from __future__ import annotations

import numpy as np
import pytest

from tinyae.data import DatasetUnavailable, RatingMatrix, load_movielens

U_DATA = "1\t10\t5\t881250949\n1\t30\t3\t891717742\n3\t10\t1\t878887116\n2\t20\t4\t880606923\n"


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_u_data_becomes_a_users_by_items_matrix_with_zeros_for_not_rated(tmp_path):
    result = load_movielens(_write(tmp_path, "u.data", U_DATA))
    assert isinstance(result, RatingMatrix)
    ratings, user_ids, item_ids = result  # unpacks as a tuple too
    assert ratings.dtype == np.float32 and ratings.shape == (3, 3)
    np.testing.assert_array_equal(user_ids, [1, 2, 3])
    np.testing.assert_array_equal(item_ids, [10, 20, 30])
    np.testing.assert_array_equal(ratings, [[5, 0, 3], [0, 4, 0], [1, 0, 0]])
    assert result.n_ratings == 4 and result.density == pytest.approx(4 / 9)


@pytest.mark.parametrize("name, text", [
    ("ratings.dat", U_DATA.replace("\t", "::")),  # ml-1m
    ("ratings.csv", "userId,movieId,rating,timestamp\n" + U_DATA.replace("\t", ",")),  # ml-latest-small
    ("u.data", "\n".join(line.rsplit("\t", 1)[0] for line in U_DATA.splitlines()) + "\n"),  # no timestamps
])
def test_the_other_formats_give_the_same_matrix(tmp_path, name, text):
    expected = load_movielens(_write(tmp_path, "reference.data", U_DATA))
    result = load_movielens(_write(tmp_path, name, text))
    for got, want in zip(result, expected):
        np.testing.assert_array_equal(got, want)


def test_a_folder_and_half_stars(tmp_path):
    _write(tmp_path, "ratings.csv", "userId,movieId,rating,timestamp\n7,1,0.5,1\n7,2,4.5,2\n\n")
    result = load_movielens(tmp_path)
    np.testing.assert_array_equal(result.ratings, [[0.5, 4.5]])
    np.testing.assert_array_equal(result.user_ids, [7])
    np.testing.assert_array_equal(result.item_ids, [1, 2])


def test_a_missing_file_says_where_to_get_movielens(tmp_path):
    with pytest.raises(DatasetUnavailable, match=r"no MovieLens ratings at .*nowhere.*grouplens.org.*does not "
                                                 r"download.*licence forbids redistribut"):
        load_movielens(tmp_path / "nowhere" / "u.data")
    with pytest.raises(DatasetUnavailable, match=r"no MovieLens ratings file \(u.data, ratings.dat, ratings.csv\)"):
        load_movielens(tmp_path)  # an empty folder
    assert issubclass(DatasetUnavailable, FileNotFoundError)


@pytest.mark.parametrize("text, line, message", [
    ("1\t10\t5\t1\n1\t20\n", 2, r"expected user\titem\trating\[\ttimestamp\]"),  # a field short
    ("1\t10\t5\t1\nx\t20\t3\t1\n", 2, "integer ids"),
    ("1\t10\t5\t1\n\n1\t20\tgood\t1\n", 3, "a number for the rating"),  # the blank line counts
    ("1\t10\t5\t1\n-1\t20\t3\t1\n", 2, "integer ids >= 0"),
    ("1\t10\t5\t1\n1\t20\t6\t1\n", 2, r"rating must lie in \[0.5, 5\].*got '6'"),
    ("1\t10\t0\t1\n", 1, r"0 is the matrix's 'not rated'.*got '0'"),
    ("1\t10\tnan\t1\n", 1, r"rating must lie in"),
    ("1\t10\t5\t1\n1\t20\t4\t1\n1\t10\t2\t1\n", 3, r"user 1 rated item 10 already on line 1"),
    ("one two three\n", 1, "expected fields separated by tabs, '::' or commas"),
])
def test_a_malformed_line_is_named(tmp_path, text, line, message):
    with pytest.raises(ValueError, match=rf"u.data, line {line}: .*{message}"):
        load_movielens(_write(tmp_path, "u.data", text))


def test_an_empty_file_and_a_matrix_too_large(tmp_path):
    with pytest.raises(ValueError, match="no ratings in the file"):
        load_movielens(_write(tmp_path, "u.data", "\n"))
    with pytest.raises(ValueError, match=r"3 users x 3 items is 9 entries.*more than max_entries=8"):
        load_movielens(_write(tmp_path, "ratings.dat", U_DATA), max_entries=8)
