CREATE SCHEMA "threads";
--> statement-breakpoint
CREATE TABLE "threads"."likes" (
	"thread_id" bigint NOT NULL,
	"profile_id" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "likes_thread_id_profile_id_pk" PRIMARY KEY("thread_id","profile_id")
);
--> statement-breakpoint
CREATE TABLE "threads"."profile_follows" (
	"follower_id" bigint NOT NULL,
	"followee_id" bigint NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "threads"."profile_follows_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "profile_follows_follower_id_followee_id_pk" PRIMARY KEY("follower_id","followee_id")
);
--> statement-breakpoint
CREATE TABLE "threads"."profiles" (
	"id" bigint PRIMARY KEY NOT NULL,
	"username" text NOT NULL,
	"bio" text DEFAULT '' NOT NULL,
	"follower_count" integer DEFAULT 0 NOT NULL,
	"following_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "profiles_username_unique" UNIQUE("username")
);
--> statement-breakpoint
CREATE TABLE "threads"."threads" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "threads"."threads_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"author_id" bigint NOT NULL,
	"text" text NOT NULL,
	"reply_to_id" bigint,
	"reply_count" integer DEFAULT 0 NOT NULL,
	"like_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "threads"."likes" ADD CONSTRAINT "likes_thread_id_threads_id_fk" FOREIGN KEY ("thread_id") REFERENCES "threads"."threads"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "threads"."likes" ADD CONSTRAINT "likes_profile_id_profiles_id_fk" FOREIGN KEY ("profile_id") REFERENCES "threads"."profiles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "threads"."profile_follows" ADD CONSTRAINT "profile_follows_follower_id_profiles_id_fk" FOREIGN KEY ("follower_id") REFERENCES "threads"."profiles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "threads"."profile_follows" ADD CONSTRAINT "profile_follows_followee_id_profiles_id_fk" FOREIGN KEY ("followee_id") REFERENCES "threads"."profiles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "threads"."threads" ADD CONSTRAINT "threads_author_id_profiles_id_fk" FOREIGN KEY ("author_id") REFERENCES "threads"."profiles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "threads"."threads" ADD CONSTRAINT "threads_reply_to_id_threads_id_fk" FOREIGN KEY ("reply_to_id") REFERENCES "threads"."threads"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "likes_profile_idx" ON "threads"."likes" USING btree ("profile_id");--> statement-breakpoint
CREATE INDEX "profile_follows_followee_idx" ON "threads"."profile_follows" USING btree ("followee_id","seq");--> statement-breakpoint
CREATE INDEX "threads_author_top_level_idx" ON "threads"."threads" USING btree ("author_id","id") WHERE "threads"."threads"."reply_to_id" is null;--> statement-breakpoint
CREATE INDEX "threads_reply_to_idx" ON "threads"."threads" USING btree ("reply_to_id","id");