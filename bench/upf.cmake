# bench-upf: throughput of vigil-upf's data plane (uplink decap, downlink
# encap, the bare rx->tx loop as the I/O ceiling) and PFCP establishments
# per second; see bench-upf.c and scripts/bench-upf.sh. Included from
# bench/CMakeLists.txt; built only when vnf-dataplane is (DPDK found).
if(TARGET upf_core)
  add_executable(bench-upf ${CMAKE_CURRENT_LIST_DIR}/bench-upf.c)
  target_link_libraries(bench-upf PRIVATE upf_core)
endif()
