import sys
import socket,time,statistics
def once():
    t=time.perf_counter()
    s=socket.create_connection(('127.0.0.1', int(sys.argv[1]))); f=s.makefile('rb'); f.readline()
    t1=time.perf_counter()
    s.sendall(b'a LOGIN alice secret\r\n')
    while not f.readline().startswith(b'a '): pass
    t2=time.perf_counter()
    s.sendall(b'b LIST "" "*" RETURN (SPECIAL-USE STATUS (UIDVALIDITY UIDNEXT MESSAGES HIGHESTMODSEQ))\r\n')
    while not f.readline().startswith(b'b '): pass
    t3=time.perf_counter()
    s.sendall(b'c LOGOUT\r\n')
    while not f.readline().startswith(b'c '): pass
    t4=time.perf_counter()
    s.close()
    return (t1-t,t2-t1,t3-t2,t4-t3,t4-t)
r=[once() for _ in range(40)]
for i,n in enumerate(['greeting','LOGIN','LIST-STATUS','LOGOUT','total']):
    print(n, round(statistics.median(x[i] for x in r)*1000,2),'ms')
