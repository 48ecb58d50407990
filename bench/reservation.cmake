# bench-reservation: vigil-reservation with 1,000,000 reservations held
# (see bench-reservation.c; scripts/bench-reservation.sh builds it in
# Release and runs it). Included from bench/CMakeLists.txt.
if(TARGET reservation_core)
  add_executable(bench-reservation ${CMAKE_CURRENT_LIST_DIR}/bench-reservation.c)
  target_link_libraries(bench-reservation PRIVATE reservation_core)
endif()
