// module scaffold
