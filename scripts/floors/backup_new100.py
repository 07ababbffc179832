import sys
import socket,time,statistics,imaplib,re
def cmd(s,f,tag,line):
    s.sendall(tag+b' '+line+b'\r\n')
    out=b''
    while True:
        l=f.readline()
        m=re.search(rb'\{(\d+)\}\r\n$',l)
        if m: f.read(int(m.group(1)))
        if l.startswith(tag+b' '): return out
        out+=l
def once():
    c=imaplib.IMAP4('127.0.0.1', int(sys.argv[1])); c.login('alice','secret')
    for i in range(100):
        c.append('INBOX',None,None,b'Subject: new\r\nMessage-ID: <f%d@x>\r\n\r\n'%i + b'z'*30000 + b'\r\n')
    c.logout()
    t=time.perf_counter()
    s=socket.create_connection(('127.0.0.1', int(sys.argv[1]))); f=s.makefile('rb'); f.readline()
    cmd(s,f,b'a',b'LOGIN alice secret'); t1=time.perf_counter()
    cmd(s,f,b'b',b'LIST "" "*" RETURN (SPECIAL-USE STATUS (UIDVALIDITY UIDNEXT MESSAGES HIGHESTMODSEQ))'); t2=time.perf_counter()
    cmd(s,f,b'c',b'ENABLE QRESYNC')
    out=cmd(s,f,b'd',b'SELECT INBOX'); t3=time.perf_counter()
    n=int(re.search(rb'\* (\d+) EXISTS',out).group(1))
    cmd(s,f,b'e',b'FETCH %d:%d (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])'%(n-99,n)); t4=time.perf_counter()
    cmd(s,f,b'f',b'LOGOUT'); t5=time.perf_counter()
    return (t1-t,t2-t1,t3-t2,t4-t3,t5-t4,t5-t)
r=[once() for _ in range(8)]
for i,n in enumerate(['connect+LOGIN','LIST-STATUS','ENABLE+SELECT','FETCH 100 bodies','LOGOUT','total']):
    print(n, round(statistics.median(x[i] for x in r)*1000,1),'ms')
