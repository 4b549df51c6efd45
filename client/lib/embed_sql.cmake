# embed_sql.cmake - writes OUT, a C file defining `const char NAME[]` with the bytes of
# IN (an SQL file), for libcloop's mirror schema. Run with cmake -P.
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
file(WRITE ${OUT} "/* generated from ${IN} by client/lib/embed_sql.cmake: do not edit */\nconst char ${NAME}[] = {${hex}0x00};\n")
