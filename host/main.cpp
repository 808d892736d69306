// main.cpp: the tributary command line (being assembled; see host/app/).
int main() { return 0; }
